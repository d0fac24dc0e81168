# ruff: noqa: E501  (a table of exact error messages: one case per line reads best)
"""A corpus of bad scene inputs, each with the exact error it must end with."""

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
    expect: str  # the exact error: {path} {base} {hash} {sid} {title} stand for the scene's
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


SERVER = "in ensemble 'tagger', preprocess: "  # errors the server found in a request
GRID = [(0, 0, CELL_W, CELL_H), (CELL_W, 0, CELL_W, CELL_H)]


def corpus() -> list[BadScene]:
    good, vtt = small_sprite(99, "x")
    rng = np.random.default_rng(0)
    body = bytearray(good)
    scan = good.index(b"\xff\xda") + 20
    body[scan : scan + 400] = rng.integers(0, 255, 400, dtype=np.uint8).tobytes()
    huge = encode_jpeg(np.zeros((4000, 12_000, 3), np.uint8), quality=10)
    cases = [
        BadScene(
            "truncated JPEG (half)",
            good[: len(good) // 2],
            vtt,
            f"{{path}}: {SERVER}corrupt or truncated JPEG ({len(good) // 2} bytes): Premature end of JPEG file",
        ),
        BadScene(
            "truncated JPEG (header only)",
            good[:20],
            vtt,
            "{path}: {base}_sprite.jpg: corrupt or truncated JPEG (no frame header)",
        ),
        BadScene(
            "corrupt JPEG scan data",
            bytes(body),
            vtt,
            f"{{path}}: {SERVER}corrupt or truncated JPEG ({len(body)} bytes): Corrupt JPEG data: premature end of data segment",
        ),
        BadScene(
            "zero bytes of noise",
            b"\0" * 5000,
            vtt,
            "{path}: {base}_sprite.jpg: not an image (no known format)",
        ),
        BadScene(
            "plain text as sprite",
            b"this is not a picture\n" * 20,
            vtt,
            "{path}: {base}_sprite.jpg: not an image (no known format)",
        ),
        BadScene(
            "HTML error page",
            b"<html><body>502 Bad Gateway</body></html>",
            vtt,
            "{path}: {base}_sprite.jpg: not an image (no known format)",
        ),
        BadScene("empty sprite", b"", vtt, "{path}: {base}_sprite.jpg: empty sprite (0 bytes)"),
        BadScene(
            "pixel bomb header 20000x20000",
            with_size(good, 20000, 20000),
            vtt,
            f"{{path}}: {SERVER}image is 20000x20000 = 400000000 pixels, over the limit of 40000000",
        ),
        BadScene(
            "huge sprite 12000x4000",
            huge,
            vtt,
            f"{{path}}: {SERVER}image is 12000x4000 = 48000000 pixels, over the limit of 40000000",
        ),
        BadScene(
            "zero-size header",
            with_size(good, 0, 0),
            vtt,
            "{path}: {base}_thumbs.vtt: cue 1 rectangle (0, 0, 160, 90) lies outside the 0x0 sprite {hash}_sprite.jpg: the VTT does not belong to this sprite",
        ),
        BadScene(
            "sprite smaller than its VTT",
            with_size(good, 100, 50),
            vtt,
            "{path}: {base}_thumbs.vtt: cue 1 rectangle (0, 0, 160, 90) lies outside the 100x50 sprite {hash}_sprite.jpg: the VTT does not belong to this sprite",
        ),
        BadScene(
            "no sprite (404)",
            None,
            vtt,
            "{path}: scene {sid} ({title}): no sprite yet; sprite generation was queued in Stash and the next run tags it",
        ),
        BadScene(
            "no VTT (404)",
            good,
            None,
            "{path}: scene {sid} ({title}): no thumbnails VTT ({base}_thumbs.vtt) yet; sprite generation was queued in Stash and the next run tags it",
        ),
        BadScene(
            "empty VTT", good, "", "{path}: {base}_thumbs.vtt: not a WebVTT file (first line '')"
        ),
        BadScene(
            "VTT without header",
            good,
            vtt.removeprefix("WEBVTT"),
            "{path}: {base}_thumbs.vtt: not a WebVTT file (first line '')",
        ),
        BadScene(
            "VTT not UTF-8",
            good,
            b"\xff\xfe\x00W\x00E\x80\x81",
            "{path}: {base}_thumbs.vtt: not UTF-8 text",
        ),
        BadScene(
            "VTT without cues", good, "WEBVTT\n\n", "{path}: {base}_thumbs.vtt: no cues found"
        ),
        BadScene(
            "cue without #xywh",
            good,
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nx.jpg\n",
            "{path}: {base}_thumbs.vtt:4: cue has no #xywh= rectangle: 'x.jpg'",
        ),
        BadScene(
            "cue with words for #xywh",
            good,
            _vtt(GRID).replace("0,0,160", "a,b,c"),
            "{path}: {base}_thumbs.vtt:4: cue has no #xywh= rectangle: 'x_sprite.jpg#xywh=a,b,c,90'",
        ),
        BadScene(
            "cue outside the sprite",
            good,
            _vtt([(400, 0, 160, 90)]),
            "{path}: {base}_thumbs.vtt: cue 1 rectangle (400, 0, 160, 90) lies outside the 320x180 sprite {hash}_sprite.jpg: the VTT does not belong to this sprite",
        ),
        BadScene(
            "negative rectangle",
            good,
            _vtt([(-10, 0, 160, 90)]),
            "{path}: {base}_thumbs.vtt:4: cue has no #xywh= rectangle: 'x_sprite.jpg#xywh=-10,0,160,90'",
        ),
        BadScene(
            "zero-width rectangle",
            good,
            _vtt([(0, 0, 0, 90)]),
            "{path}: {base}_thumbs.vtt:4: cue rectangle (0, 0, 0, 90) is empty",
        ),
        BadScene(
            "Stash 9x9 VTT on a 2x2 sprite",
            good,
            _vtt([(c * 160, r * 90, 160, 90) for r in range(9) for c in range(9)]),
            "{path}: {base}_thumbs.vtt: cue 3 rectangle (320, 0, 160, 90) lies outside the 320x180 sprite {hash}_sprite.jpg: the VTT does not belong to this sprite",
        ),
        BadScene(
            "200 cues (over the frame limit)",
            good,
            _vtt([(0, 0, 160, 90)] * 200),
            f"{{path}}: {SERVER}200 rectangles, over the limit of 128 per request",
        ),
        BadScene(
            "negative cue time",
            good,
            _vtt(GRID, [("-00:00:01.000", "00:00:01.000"), (stamp(1), stamp(2))]),
            "{path}: {base}_thumbs.vtt:3: unreadable cue timing '-00:00:01.000 --> 00:00:01.000'",
        ),
        BadScene(
            "NaN cue time",
            good,
            _vtt(GRID, [("NaN", stamp(1)), (stamp(1), stamp(2))]),
            "{path}: {base}_thumbs.vtt:3: unreadable cue timing 'NaN --> 00:00:01.000'",
        ),
        BadScene(
            "cue ends before it starts",
            good,
            _vtt(GRID, [(stamp(5), stamp(1)), (stamp(1), stamp(2))]),
            "{path}: {base}_thumbs.vtt:3: cue ends (1.000 s) before it starts (5.000 s)",
        ),
        BadScene(
            "negative scene duration",
            good,
            vtt,
            "{path}: {base}_sprite.jpg: invalid duration -5.0",
            duration=-5.0,
        ),
    ]
    return cases
