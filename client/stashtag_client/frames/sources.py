"""Frame sources: Stash sprite sheets (+VTT), video files and image files.

:mod:`.discovery` finds them; each :class:`SceneSource` reads its files
only in :meth:`SceneSource.load`, which raises :class:`InputError` naming the file so one bad
scene never stops a run. Every source yields the same :class:`SceneFrames`: encoded image bytes
with one rectangle and one timestamp per frame. Sprites travel as they are (never decoded here);
video frames are tiled into one JPEG sheet so a scene is still one request.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from stashtag_client.frames.scene_frames import SceneFrames
from stashtag_client.frames.sprites import parse_vtt, rects_array
from stashtag_core.errors import InputError
from stashtag_core.modelspec import MAX_FRAME_ASPECT

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".wmv", ".flv", ".ts"}
SPRITE_SUFFIX, VTT_SUFFIX = "_sprite.jpg", "_thumbs.vtt"
# JPEG, PNG, WebP (RIFF): what the server decodes; anything else is not a frame to send
RASTER_MAGIC = (b"\xff\xd8", b"\x89PNG", b"RIFF")
DEFAULT_VIDEO_FRAMES = 81  # Stash's sprite count: comparable results from either source
DEFAULT_VIDEO_WIDTH = 320


@dataclass(frozen=True)
class SceneSource:
    """A scene found on disk; :meth:`load` reads it."""

    scene: str
    kind: str  # "sprite", "video" or "image"; "stash" when ``loader`` fetches it from Stash
    path: Path  # sprite JPEG, video file or image
    vtt: Path | None = None
    duration: float | None = None  # seconds, when known (from Stash's files.duration)
    video: Path | None = None  # a sprite's video, for full-size OCR frames
    video_frames: int = DEFAULT_VIDEO_FRAMES
    video_width: int = DEFAULT_VIDEO_WIDTH
    # Sources that are not plain files (sprites fetched from Stash) bring their own loader.
    loader: Callable[[], SceneFrames] | None = None

    def load(self) -> SceneFrames:
        if self.loader is not None:
            return self.loader()
        if self.kind == "sprite":
            return load_sprite(self.scene, self.path, self.vtt, self.duration, self.video)
        if self.kind == "video":
            from stashtag_client.frames.video import load_video

            return load_video(self.scene, self.path, self.video_frames, self.video_width)
        return load_image(self.scene, self.path)


def image_size(data: bytes, source: str) -> tuple[int, int]:
    """(width, height) from a JPEG or PNG header, without decoding pixels."""
    if not data:
        raise InputError(f"{source}: empty (0 bytes)")
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data, source)
    try:
        import io

        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise InputError(
            f"{source}: neither a JPEG nor a PNG (damaged? other formats need Pillow)"
        ) from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except UnidentifiedImageError:  # its message is a repr of our buffer: say it plainly
        raise InputError(f"{source}: not an image (no known format)") from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"{source}: refused as a decompression bomb ({exc})") from None
    except ImportError:  # ultralytics, once imported, makes Image.open try a HEIF plugin first
        raise InputError(f"{source}: not an image (no known format)") from None
    except Exception as exc:
        raise InputError(f"{source}: not a readable image ({type(exc).__name__}: {exc})") from None


def _jpeg_size(data: bytes, source: str) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise InputError(f"{source}: corrupt or truncated JPEG (no frame header)")


def read_bytes(path: Path) -> bytes:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not data:
        raise InputError(f"{path}: empty file")
    return data


def load_sprite(
    scene: str,
    sprite: Path,
    vtt: Path | None,
    duration: float | None = None,
    video: Path | None = None,
) -> SceneFrames:
    """A Stash sprite sheet and its VTT from disk; frame times from ``duration`` when known.
    With its ``video``, OCR reads full-size frames decoded from it."""
    vtt = vtt or sprite.with_name(sprite.name.removesuffix(SPRITE_SUFFIX) + VTT_SUFFIX)
    frames = sprite_frames(scene, read_bytes(sprite), read_bytes(vtt), duration, sprite, vtt)
    if video is None:
        return frames
    from stashtag_client.frames.video import ocr_finder

    return replace(frames, ocr_finder=ocr_finder(video, frames.times, int(frames.rects[0, 2])))


def sprite_frames(
    scene: str,
    data: bytes,
    vtt_bytes: bytes,
    duration: float | None,
    sprite: Path | str,
    vtt: Path | str,
) -> SceneFrames:
    """Check a sprite's VTT against its JPEG header and build the scene's frames."""
    if not data:
        raise InputError(f"{sprite}: empty sprite (0 bytes)")
    try:
        text = vtt_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{vtt}: not UTF-8 text") from None
    cues = parse_vtt(text, str(vtt))
    rects = rects_array(cues)
    width, height = image_size(data, str(sprite))
    x, y, w, h = rects.T.astype(np.int64)
    outside = (x + w > width) | (y + h > height)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InputError(
            f"{vtt}: cue {i + 1} rectangle {tuple(int(v) for v in rects[i])} lies outside the "
            f"{width}x{height} sprite {Path(str(sprite)).name}: the VTT does not belong to this "
            "sprite"
        )
    if duration is not None and not (np.isfinite(duration) and duration > 0):
        raise InputError(f"{sprite}: invalid duration {duration!r}")
    if duration:
        # Stash's cue times drift from the true frame times; frame i sits at i·duration/N.
        times, basis = np.arange(len(rects)) * duration / len(rects), "duration"
    else:
        times, basis = np.array([c.start for c in cues]), "vtt"
    return SceneFrames(scene, data, rects, times.astype(np.float64), str(sprite), basis)


def load_image(scene: str, path: Path) -> SceneFrames:
    return image_frames(scene, read_bytes(path), str(path))


def image_frames(scene: str, data: bytes, source: str) -> SceneFrames:
    """One still frame: the whole encoded image."""
    width, height = image_size(data, source)
    if width <= 0 or height <= 0:
        raise InputError(f"{source}: image has zero size")
    if max(width, height) > MAX_FRAME_ASPECT * min(width, height):
        raise InputError(
            f"{source}: a {width}x{height} image is more than {MAX_FRAME_ASPECT}:1, no video frame"
            " (degenerate image)"
        )
    rects = np.array([[0, 0, width, height]], np.int32)
    return SceneFrames(scene, data, rects, np.zeros(1), source, "still", kind="image")
