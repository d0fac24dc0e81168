"""Frame sources: Stash sprite sheets (+VTT), video files, image files and folders.

Discovery is cheap and never fails on file contents; each :class:`SceneSource` reads its files
only in :meth:`SceneSource.load`, which raises :class:`InputError` naming the file so one bad
scene never stops a run. Every source yields the same :class:`SceneFrames`: encoded image bytes
with one rectangle and one timestamp per frame. Sprites travel as they are (never decoded here);
video frames are tiled into one JPEG sheet so a scene is still one request.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Iterable, Iterator
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
            f"{source}: not a JPEG or PNG (install Pillow for other formats)"
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


@dataclass(frozen=True)
class Skipped:
    """A file discovery passed over, and why."""

    path: Path
    reason: str


STASH_HASH = re.compile(r"[0-9a-f]{16}|[0-9a-f]{32}")  # oshash / MD5: Stash's generated names


def scene_key(path: Path, kind: str) -> str:
    """The store key of a file scene, the same however its path is spelled: a sprite named by
    Stash (``<oshash>_sprite.jpg``) is its hash; anything else its resolved real path (a
    sprite's without the ``_sprite.jpg`` suffix)."""
    if kind == "sprite":
        stem = path.name[: -len(SPRITE_SUFFIX)]
        if STASH_HASH.fullmatch(stem.lower()):
            return stem.lower()
        return str(_real(path).with_name(stem))
    return str(_real(path))


def legacy_key_to_canonical(key: str) -> str:
    """The :func:`scene_key` of a key written before keys were canonical (the path as it was
    typed; a sprite's without its suffix); unchanged when it names no file found here."""
    if key.isdigit() or key.partition(":")[0] in ("image", "gallery"):
        return key  # Stash ids
    path = Path(key)
    sprite = path.with_name(path.name + SPRITE_SUFFIX) if path.name else path
    if STASH_HASH.fullmatch(path.name.lower()) or sprite.is_file():
        return scene_key(sprite, "sprite")
    if path.is_file():
        return scene_key(path, "file")
    return key


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: keep the absolute spelling
        return path.absolute()


def discover(
    paths: Iterable[Path | str],
    video_frames: int = DEFAULT_VIDEO_FRAMES,
    video_width: int = DEFAULT_VIDEO_WIDTH,
    skipped: list[Skipped] | None = None,
) -> Iterator[SceneSource]:
    """Scenes under ``paths``: sprite+VTT pairs (with the video of the same name beside them,
    for full-size OCR frames), videos and images, in a stable order, each once however often
    it is reached.

    Never fails: a path that does not exist, or a folder that cannot be listed, is yielded as
    a scene whose load raises the error; files that are no scene go to ``skipped``.
    """
    skipped = skipped if skipped is not None else []
    seen: set[str] = set()
    for root in map(Path, paths):
        if not _is_dir(root):
            files, broken = [root], []
        else:
            files, broken = _walk(root, skipped)
        for folder, reason in broken:
            yield _failing(folder, f"{folder}: cannot list folder ({reason})")
        by_name = {(f.parent, f.name.lower()): f for f in files}  # names are per folder
        paired = _videos_beside_sprites(files, by_name)
        for f in files:
            try:
                source = _classify(f, by_name, paired, video_frames, video_width, skipped)
            except OSError as exc:  # stat refused (permissions, a vanished mount): its error
                source = _failing(f, f"{f}: cannot read ({exc.strerror or exc})")
            if source is not None and source.scene not in seen:
                seen.add(source.scene)
                yield source


def _walk(root: Path, skipped: list[Skipped]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every file under ``root`` (sorted; symlinked folders followed once), and the folders
    that could not be listed with the reason."""
    files: list[Path] = []
    broken: list[tuple[Path, str]] = []
    visited: set[str] = set()

    def onerror(exc: OSError) -> None:
        broken.append((Path(exc.filename or root), exc.strerror or type(exc).__name__))

    for folder, dirs, names in os.walk(root, onerror=onerror, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:  # a symlink loop or a second link to one folder
            dirs.clear()
            skipped.append(Skipped(Path(folder), "folder already read through another link"))
            continue
        visited.add(real)
        dirs.sort()
        files.extend(Path(folder, n) for n in names)
    return sorted(files), broken


def _failing(path: Path, message: str) -> SceneSource:
    def load() -> SceneFrames:
        raise InputError(message)

    return SceneSource(str(_real(path)), "error", path, loader=load)


def _videos_beside_sprites(
    files: list[Path], by_name: dict[tuple[Path, str], Path]
) -> dict[Path, Path]:
    """sprite → the video of the same name in its folder (``x_sprite.jpg`` beside ``x.mp4``)."""
    paired = {}
    for f in files:
        if f.name.lower().endswith(SPRITE_SUFFIX) and _video_support():
            stem = f.name[: -len(SPRITE_SUFFIX)]
            for suffix in sorted(VIDEO_SUFFIXES):
                video = by_name.get((f.parent, (stem + suffix).lower()))
                video = video or f.with_name(stem + suffix)  # a sprite named on its own
                if _is_file(video):
                    paired[f] = video
                    break
    return paired


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _video_support() -> bool:
    import importlib.util

    return importlib.util.find_spec("av") is not None


def _classify(
    f: Path,
    by_name: dict[tuple[Path, str], Path],
    paired: dict[Path, Path],
    video_frames: int,
    video_width: int,
    skipped: list[Skipped],
) -> SceneSource | None:
    name, suffix = f.name.lower(), f.suffix.lower()
    if not f.exists():
        if f.is_symlink():
            skipped.append(Skipped(f, "broken symlink"))
            return None
        return SceneSource(str(_real(f)), "image", f)  # named on the command line: report it
    if not f.is_file():
        skipped.append(Skipped(f, "not a regular file (FIFO, socket or device)"))
        return None
    if name.endswith(SPRITE_SUFFIX):
        return SceneSource(scene_key(f, "sprite"), "sprite", f, video=paired.get(f))
    if name.endswith(VTT_SUFFIX):
        if (f.parent, name[: -len(VTT_SUFFIX)] + SPRITE_SUFFIX) not in by_name:
            skipped.append(Skipped(f, f"thumbnails VTT without its sprite (*{SPRITE_SUFFIX})"))
        return None  # read with its sprite
    if suffix in VIDEO_SUFFIXES:
        if f in paired.values():
            return None  # read for OCR with its sprite
        return SceneSource(
            scene_key(f, "video"), "video", f, video_frames=video_frames, video_width=video_width
        )
    if suffix in IMAGE_SUFFIXES:
        return SceneSource(scene_key(f, "image"), "image", f)
    skipped.append(Skipped(f, f"not a video, image or sprite ({suffix or 'no suffix'})"))
    return None
