"""Discovery: the scenes under the paths a user gives, found without reading file contents.

Sprite+VTT pairs (with the video of the same name beside them, for full-size OCR frames),
videos and images; each keyed the same however its path is spelled; every file that is no
scene named with the reason it was passed over. Never fails: what cannot be listed or stat'ed
becomes that path's scene error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from stashtag_client.frames.scene_frames import SceneFrames
from stashtag_client.frames.sources import (
    DEFAULT_VIDEO_FRAMES,
    DEFAULT_VIDEO_WIDTH,
    IMAGE_SUFFIXES,
    SPRITE_SUFFIX,
    VIDEO_SUFFIXES,
    VTT_SUFFIX,
    SceneSource,
)
from stashtag_client.frames.video import video_support
from stashtag_core.errors import InputError


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
            files, broken = [root], list[tuple[Path, str]]()
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
        if f.name.lower().endswith(SPRITE_SUFFIX) and video_support():
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
