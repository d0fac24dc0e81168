"""A corpus of bad scene inputs, each with the words its error must contain."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from stashtag.demo.samples import encode_jpeg
from tests.reliability.library import CELL_H, CELL_W, small_sprite, stamp


@dataclass(frozen=True)
class BadScene:
    name: str
    sprite: bytes | None  # None: Stash serves no sprite (404)
    vtt: str | bytes | None  # None: no VTT (404)
    expect: str  # the error must contain this
    duration: float = 30.0


def with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """``jpeg`` with its frame header claiming another size (the pixels stay)."""
    i = jpeg.index(b"\xff\xc0")
    return jpeg[: i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9 :]


def _vtt(cells: list[tuple[int, int, int, int]], times: list[tuple[str, str]] | None = None):
    times = times or [(stamp(i), stamp(i + 1)) for i in range(len(cells))]
    return "WEBVTT\n\n" + "\n".join(
        f"{a} --> {b}\nx_sprite.jpg#xywh={x},{y},{w},{h}\n"
        for (a, b), (x, y, w, h) in zip(times, cells, strict=True)
    )


GRID = [(0, 0, CELL_W, CELL_H), (CELL_W, 0, CELL_W, CELL_H)]


def corpus() -> list[BadScene]:
    good, vtt = small_sprite(99, "x")
    rng = np.random.default_rng(0)
    body = bytearray(good)
    scan = good.index(b"\xff\xda") + 20
    body[scan : scan + 400] = rng.integers(0, 255, 400, dtype=np.uint8).tobytes()
    huge = encode_jpeg(np.zeros((4000, 12_000, 3), np.uint8), quality=10)
    cases = [
        BadScene("truncated JPEG (half)", good[: len(good) // 2], vtt, "truncated"),
        BadScene("truncated JPEG (header only)", good[:20], vtt, "truncated JPEG"),
        BadScene("corrupt JPEG scan data", bytes(body), vtt, "JPEG"),
        BadScene("zero bytes of noise", b"\0" * 5000, vtt, "not an image"),
        BadScene("plain text as sprite", b"this is not a picture\n" * 20, vtt, "not an image"),
        BadScene("HTML error page", b"<html><body>502 Bad Gateway</body></html>", vtt, "not an"),
        BadScene("empty sprite", b"", vtt, "empty sprite"),
        BadScene("pixel bomb header 20000x20000", with_size(good, 20000, 20000), vtt, "limit"),
        BadScene("huge sprite 12000x4000", huge, vtt, "over the limit"),
        BadScene("zero-size header", with_size(good, 0, 0), vtt, "outside the 0x0 sprite"),
        BadScene("sprite smaller than its VTT", with_size(good, 100, 50), vtt, "does not belong"),
        BadScene("no sprite (404)", None, vtt, "no sprite yet"),
        BadScene("no VTT (404)", good, None, "no thumbnails VTT"),
        BadScene("empty VTT", good, "", "not a WebVTT"),
        BadScene("VTT without header", good, vtt.removeprefix("WEBVTT"), "not a WebVTT"),
        BadScene("VTT not UTF-8", good, b"\xff\xfe\x00W\x00E\x80\x81", "not UTF-8"),
        BadScene("VTT without cues", good, "WEBVTT\n\n", "no cues found"),
        BadScene(
            "cue without #xywh",
            good,
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nx.jpg\n",
            "no #xywh",
        ),
        BadScene(
            "cue with words for #xywh", good, _vtt(GRID).replace("0,0,160", "a,b,c"), "no #xywh"
        ),
        BadScene("cue outside the sprite", good, _vtt([(400, 0, 160, 90)]), "lies outside"),
        BadScene("negative rectangle", good, _vtt([(-10, 0, 160, 90)]), "no #xywh"),
        BadScene("zero-width rectangle", good, _vtt([(0, 0, 0, 90)]), "is empty"),
        BadScene(
            "Stash 9x9 VTT on a 2x2 sprite",
            good,
            _vtt([(c * 160, r * 90, 160, 90) for r in range(9) for c in range(9)]),
            "does not belong",
        ),
        BadScene(
            "200 cues (over the frame limit)",
            good,
            _vtt([(0, 0, 160, 90)] * 200),
            "over the limit of",
        ),
        BadScene(
            "negative cue time",
            good,
            _vtt(GRID, [("-00:00:01.000", "00:00:01.000"), (stamp(1), stamp(2))]),
            "unreadable cue timing",
        ),
        BadScene(
            "NaN cue time",
            good,
            _vtt(GRID, [("NaN", stamp(1)), (stamp(1), stamp(2))]),
            "unreadable cue timing",
        ),
        BadScene(
            "cue ends before it starts",
            good,
            _vtt(GRID, [(stamp(5), stamp(1)), (stamp(1), stamp(2))]),
            "before it starts",
        ),
        BadScene("negative scene duration", good, vtt, "invalid duration", duration=-5.0),
    ]
    return cases
