"""Stash sprite sheets: parse ``<hash>_thumbs.vtt`` into cue times and ``#xywh=`` rectangles."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from stashtag_core.errors import InputError

_TIME = r"(\d+):(\d{2}):(\d{2})\.(\d{3})"
_CUE = re.compile(rf"^{_TIME}\s+-->\s+{_TIME}")
_XYWH = re.compile(r"#xywh=(\d+),(\d+),(\d+),(\d+)\s*$")


@dataclass(frozen=True)
class SpriteCue:
    start: float  # seconds, as the VTT says (Stash's cue times drift from true frame times)
    end: float
    rect: tuple[int, int, int, int]  # x, y, w, h in the sprite sheet


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


# JPEG's own limit on a side: larger numbers cannot describe a place in a sprite sheet.
MAX_SIDE = 65535


def parse_vtt(text: str, source: str = "<vtt>") -> list[SpriteCue]:
    """Parse a Stash thumbnails VTT; errors name ``source`` and the line.

    As WebVTT allows: a byte-order mark before ``WEBVTT``, and CRLF, LF or CR line ends. Cues
    come back sorted by start time (Stash writes them in order; a file that is not keeps each
    rectangle with its own time rather than losing the scene's markers)."""
    text = text.removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or not lines[0].startswith("WEBVTT"):
        raise InputError(f"{source}: not a WebVTT file (first line {lines[0][:30]!r})")
    cues = []
    for n, line in enumerate(lines, start=1):
        m = _CUE.match(line.strip())
        if not m:
            if "-->" in line:  # a cue timing we can't read (negative, NaN, malformed)
                raise InputError(f"{source}:{n}: unreadable cue timing {line.strip()[:60]!r}")
            continue
        ref = lines[n].strip() if n < len(lines) else ""
        xywh = _XYWH.search(ref)
        if not xywh:
            raise InputError(f"{source}:{n + 1}: cue has no #xywh= rectangle: {ref[:60]!r}")
        g = m.groups()
        start, end = _seconds(*g[:4]), _seconds(*g[4:])
        if end < start:
            raise InputError(
                f"{source}:{n}: cue ends ({end:.3f} s) before it starts ({start:.3f} s)"
            )
        rect = tuple(map(int, xywh.groups()))
        if max(rect) > MAX_SIDE:
            raise InputError(
                f"{source}:{n + 1}: cue rectangle {ref[ref.index('#xywh=') + 6 :][:60]} has a"
                f" number over {MAX_SIDE} (no JPEG is that large)"
            )
        if rect[2] == 0 or rect[3] == 0:
            raise InputError(f"{source}:{n + 1}: cue rectangle {rect} is empty")
        x, y, w, h = rect
        cues.append(SpriteCue(start, end, (x, y, w, h)))
    if not cues:
        raise InputError(f"{source}: no cues found")
    return sorted(cues, key=lambda c: c.start)


def rects_array(cues: list[SpriteCue]) -> np.ndarray:
    return np.array([c.rect for c in cues], dtype=np.int32)


def grid_rects(width: int, height: int, cols: int = 9, rows: int = 9) -> np.ndarray:
    """Rectangles of a ``cols × rows`` grid sheet, row-major (Stash's layout)."""
    w, h = width // cols, height // rows
    return np.array(
        [(c * w, r * h, w, h) for r in range(rows) for c in range(cols)], dtype=np.int32
    )
