# ruff: noqa: E501  (a table of exact error messages: one case per line reads best)
"""A folder of hostile files for one ``stashtag tag`` run: every kind of bad image, video,
sprite and VTT a library turns up, each beside good scenes, and files that are no scene at
all. :func:`write_folder` returns what each scene must end as: its exact error, or tagged."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np

from stashtag.demo.samples import encode_jpeg, sprite_sheet, text_frame
from tests.reliability.corpus import with_size
from tests.reliability.library import CELL_H, CELL_W, small_sprite, stamp

TAGGED = ""  # the scene must be tagged (no error)
SERVER = "in ensemble 'tagger', preprocess: "  # errors the server found in a request
NO_VIDEO = "cannot decode video (Invalid data found when processing input)"


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return buf.getvalue()


def _pil(fmt: str, size=(64, 48), mode="RGB", **kw) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    img = Image.new(mode, size, 120 if mode in ("L", "P", "I;16") else (200, 100, 50))
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def gif_header(width: int, height: int) -> bytes:
    """A GIF that declares ``width`` x ``height`` and holds one pixel."""
    screen = struct.pack("<HH", width, height) + b"\x00\x00\x00"
    image = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return b"GIF89a" + screen + image + b"\x02\x02\x44\x01\x00;"


def _webp_header(width: int, height: int) -> bytes:
    """A lossless WebP (VP8L) header declaring ``width`` x ``height`` (≤ 16384 each)."""
    bits = (width - 1) | ((height - 1) << 14)
    vp8l = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 8
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _cues(cells, times=None, name="x_sprite.jpg", sep="\n") -> str:
    times = times or [(stamp(i), stamp(i + 1)) for i in range(len(cells))]
    body = [
        f"{a} --> {b}{sep}{name}#xywh={x},{y},{w},{h}{sep}"
        for (a, b), (x, y, w, h) in zip(times, cells, strict=True)
    ]
    return f"WEBVTT{sep}{sep}" + sep.join(body)


GRID = [(0, 0, CELL_W, CELL_H), (CELL_W, 0, CELL_W, CELL_H), (0, CELL_H, CELL_W, CELL_H)]


def write_folder(root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Write the corpus under ``root``. Returns (scene file → exact error, ``{root}`` standing
    for the folder, or TAGGED) and (file passed over → reason)."""
    root.mkdir(parents=True, exist_ok=True)
    sprite, good_vtt = small_sprite(7, "x")
    photo = encode_jpeg(sprite_sheet(3)[: 2 * CELL_H, : 2 * CELL_W])
    expect: dict[str, str] = {}
    skipped: dict[str, str] = {}

    def still(name: str, data: bytes, error: str) -> None:
        (root / name).write_bytes(data)
        expect[name] = error

    def pair(stem: str, sheet: bytes | None, vtt: str | bytes | None, error: str) -> None:
        if sheet is not None:
            (root / f"{stem}_sprite.jpg").write_bytes(sheet)
        if vtt is not None:
            data = vtt.encode() if isinstance(vtt, str) else vtt
            (root / f"{stem}_thumbs.vtt").write_bytes(data)
        expect[f"{stem}_sprite.jpg"] = error

    r = "{root}"
    # --- good scenes, including odd but valid ones --------------------------------------------
    still("good photo.jpg", photo, TAGGED)
    still("good watermark.png", _png((64, 48)), TAGGED)
    still("cmyk.jpg", _pil("JPEG", mode="CMYK"), TAGGED)
    still("grey 16-bit.png", _pil("PNG", mode="I;16"), TAGGED)
    still("palette.png", _pil("PNG", mode="P"), TAGGED)
    still("lossless.webp", _pil("WEBP", lossless=True), TAGGED)
    still("progressive.jpg", _pil("JPEG", progressive=True), TAGGED)
    still(
        "exif rotated.jpg",
        _pil("JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"),
        TAGGED,
    )
    still("日本語 ✓.jpg", photo, TAGGED)
    pair("good", sprite, good_vtt, TAGGED)
    pair("bom", sprite, "\ufeff" + good_vtt, TAGGED)
    pair("crlf", sprite, good_vtt.replace("\n", "\r\n"), TAGGED)
    pair("cr only", sprite, good_vtt.replace("\n", "\r"), TAGGED)
    pair(
        "cues backwards",
        sprite,
        _cues(GRID[::-1], [(stamp(2 - i), stamp(3 - i)) for i in range(3)]),
        TAGGED,
    )
    pair(
        "cue ids and notes",
        sprite,
        "WEBVTT - sprites\n\nNOTE made by hand\n\n1\n" + _cues(GRID[:1])[8:],
        TAGGED,
    )
    # --- bad stills ---------------------------------------------------------------------------
    still("empty.jpg", b"", f"{r}/empty.jpg: empty file")
    still(
        "words.jpg",
        b"just some words, no picture\n" * 4,
        f"{r}/words.jpg: not an image (no known format)",
    )
    still(
        "html.png",
        b"<html><body>502 Bad Gateway</body></html>",
        f"{r}/html.png: not an image (no known format)",
    )
    still("zeros.webp", b"\0" * 4096, f"{r}/zeros.webp: not an image (no known format)")
    still(
        "header only.jpg",
        photo[:20],
        f"{r}/header only.jpg: corrupt or truncated JPEG (no frame header)",
    )
    still(
        "gif bomb.jpg",
        gif_header(20000, 20000),
        f"{r}/gif bomb.jpg: refused as a decompression bomb (Image size (400000000 pixels) exceeds limit of 178956970 pixels, could be decompression bomb DOS attack.)",
    )
    still(
        "webp bomb.webp",
        _webp_header(16383, 16383),
        f"{r}/webp bomb.webp: refused as a decompression bomb (Image size (268402689 pixels) exceeds limit of 178956970 pixels, could be decompression bomb DOS attack.)",
    )
    still(
        "wide strip.png",
        _png((20000, 1)),
        f"{r}/wide strip.png: a 20000x1 image is more than 20:1, no video frame (degenerate image)",
    )
    still(
        "tall strip.png",
        _png((1, 20000)),
        f"{r}/tall strip.png: a 1x20000 image is more than 20:1, no video frame (degenerate image)",
    )
    still(
        "zero size.png",
        with_png_size(_png((8, 8)), 0, 0),
        f"{r}/zero size.png: image has zero size",
    )
    still(
        "bomb header.jpg",
        with_size(photo, 20000, 20000),
        f"{r}/bomb header.jpg: {SERVER}image is 20000x20000 = 400000000 pixels, over the limit of 40000000",
    )
    still(
        "truncated.jpg",
        photo[: len(photo) // 2],
        f"{r}/truncated.jpg: {SERVER}corrupt or truncated JPEG ({len(photo) // 2} bytes): Premature end of JPEG file",
    )
    still(
        "truncated.png",
        _png((64, 48))[:60],
        f"{r}/truncated.png: {SERVER}not a decodable image (60 bytes): image file is truncated",
    )
    still("bmp named.png", _pil("BMP"), TAGGED)  # the server decodes what the bytes are
    still("tiff named.jpg", _pil("TIFF"), TAGGED)
    (root / "folder.jpg").mkdir()  # a folder, whatever its name: walked into (empty)
    # --- bad sprites and VTTs -----------------------------------------------------------------
    pair("no vtt", sprite, None, f"{r}/no vtt_thumbs.vtt: file not found")
    pair("empty vtt", sprite, "", f"{r}/empty vtt_thumbs.vtt: empty file")
    pair(
        "no header",
        sprite,
        good_vtt.removeprefix("WEBVTT"),
        f"{r}/no header_thumbs.vtt: not a WebVTT file (first line '')",
    )
    pair(
        "latin1 vtt",
        sprite,
        "WEBVTT\n\nnot utf-8: \xe9".encode("latin-1"),
        f"{r}/latin1 vtt_thumbs.vtt: not UTF-8 text",
    )
    pair("no cues", sprite, "WEBVTT\n\n", f"{r}/no cues_thumbs.vtt: no cues found")
    pair(
        "huge number",
        sprite,
        _cues([(99999999999999999999, 0, 160, 90)]),
        f"{r}/huge number_thumbs.vtt:4: cue rectangle 99999999999999999999,0,160,90 has a number over 65535 (no JPEG is that large)",
    )
    pair(
        "big number",
        sprite,
        _cues([(70000, 0, 160, 90)]),
        f"{r}/big number_thumbs.vtt:4: cue rectangle 70000,0,160,90 has a number over 65535 (no JPEG is that large)",
    )
    pair(
        "outside",
        sprite,
        _cues([(400, 0, 160, 90)]),
        f"{r}/outside_thumbs.vtt: cue 1 rectangle (400, 0, 160, 90) lies outside the 320x180 sprite outside_sprite.jpg: the VTT does not belong to this sprite",
    )
    pair(
        "empty cell",
        sprite,
        _cues([(0, 0, 0, 90)]),
        f"{r}/empty cell_thumbs.vtt:4: cue rectangle (0, 0, 0, 90) is empty",
    )
    pair(
        "sliver",
        sprite,
        _cues([(0, 0, 160, 2)]),
        f"{r}/sliver_sprite.jpg: {SERVER}rectangle 0 (0, 0, 160, 2): a 160x2 frame is more than 20:1, no video frame (degenerate image)",
    )
    pair(
        "no xywh",
        sprite,
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nx_sprite.jpg\n",
        f"{r}/no xywh_thumbs.vtt:4: cue has no #xywh= rectangle: 'x_sprite.jpg'",
    )
    pair(
        "bad timing",
        sprite,
        _cues(GRID[:1], [("00:00:aa.000", stamp(1))]),
        f"{r}/bad timing_thumbs.vtt:3: unreadable cue timing '00:00:aa.000 --> 00:00:01.000'",
    )
    pair(
        "ends first",
        sprite,
        _cues(GRID[:1], [(stamp(5), stamp(1))]),
        f"{r}/ends first_thumbs.vtt:3: cue ends (1.000 s) before it starts (5.000 s)",
    )
    pair(
        "too many cues",
        sprite,
        _cues([(0, 0, 160, 90)] * 300),
        f"{r}/too many cues_sprite.jpg: {SERVER}300 rectangles, over the limit of 128 per request",
    )
    pair(
        "vtt for 9x9",
        sprite,
        _cues([(c * 160, r_ * 90, 160, 90) for r_ in range(9) for c in range(9)]),
        f"{r}/vtt for 9x9_thumbs.vtt: cue 3 rectangle (320, 0, 160, 90) lies outside the 320x180 sprite vtt for 9x9_sprite.jpg: the VTT does not belong to this sprite",
    )
    pair(
        "text sprite",
        b"not a jpeg at all" * 10,
        good_vtt,
        f"{r}/text sprite_sprite.jpg: not an image (no known format)",
    )
    pair("empty sprite", b"", good_vtt, f"{r}/empty sprite_sprite.jpg: empty file")
    pair(
        "truncated sprite",
        sprite[: len(sprite) // 2],
        good_vtt,
        f"{r}/truncated sprite_sprite.jpg: {SERVER}corrupt or truncated JPEG ({len(sprite) // 2} bytes): Premature end of JPEG file",
    )
    pair(
        "bomb sprite",
        with_size(sprite, 30000, 30000),
        good_vtt,
        f"{r}/bomb sprite_sprite.jpg: {SERVER}image is 30000x30000 = 900000000 pixels, over the limit of 40000000",
    )
    # --- videos -------------------------------------------------------------------------------
    from stashtag_client.frames.video import write_test_video

    write_test_video(root / "good clip.mp4", seconds=2.0)
    expect["good clip.mp4"] = TAGGED
    write_frames_video(root / "watermarked.mp4", [watermark_frame()] * 20)
    pair("watermarked", sprite, good_vtt, TAGGED)  # OCR reads the video beside it
    still("zeros.mp4", b"\0" * 4096, f"{r}/zeros.mp4: {NO_VIDEO}")
    still("empty.mkv", b"", f"{r}/empty.mkv: empty file")
    still("text.avi", b"RIFF but not really an AVI\n" * 50, f"{r}/text.avi: {NO_VIDEO}")
    clip = (root / "good clip.mp4").read_bytes()
    still("truncated.mp4", clip[: len(clip) // 3], f"{r}/truncated.mp4: {NO_VIDEO}")
    still("jpeg named.mov", photo, f"{r}/jpeg named.mov: zero or unknown duration")
    # --- files that are no scene --------------------------------------------------------------
    (root / "animation.gif").write_bytes(gif_header(4, 4))
    skipped["animation.gif"] = "not a video, image or sprite (.gif)"
    (root / "notes.txt").write_text("hello")
    skipped["notes.txt"] = "not a video, image or sprite (.txt)"
    (root / "README").write_text("hello")
    skipped["README"] = "not a video, image or sprite (no suffix)"
    (root / "lonely_thumbs.vtt").write_text(good_vtt)
    skipped["lonely_thumbs.vtt"] = "thumbnails VTT without its sprite (*_sprite.jpg)"
    (root / "dangling.jpg").symlink_to(root / "gone.jpg")
    skipped["dangling.jpg"] = "broken symlink"
    os.mkfifo(root / "pipe.mp4")
    skipped["pipe.mp4"] = "not a regular file (FIFO, socket or device)"
    (root / "again").symlink_to(root)
    skipped["again"] = "folder already read through another link"
    return expect, skipped


def with_png_size(png: bytes, width: int, height: int) -> bytes:
    """``png`` with its IHDR claiming another size."""
    return png[:16] + struct.pack(">II", width, height) + png[24:]


def watermark_frame() -> np.ndarray:
    return text_frame("STASHTAG DEMO", 640, 360)


def write_frames_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """An MPEG-4 video of ``frames`` (RGB, even sizes)."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = 4_000_000
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, "rgb24")))
        out.mux(stream.encode())
    return path
