"""Synthetic Stash-style samples: a 9×9 sprite sheet with its VTT, and a frame with a watermark.

Used by the demo (``stashtag demo``) and the tests, so neither needs a real video library.
Deterministic for a given seed.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

SPRITE_COLS = SPRITE_ROWS = 9
FRAME_W, FRAME_H = 160, 90  # Stash's cell size for a 16:9 video


def _scene(i: int, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """One frame: a gradient 'room' with a few coloured shapes."""
    import cv2

    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(40, 200, 3)
    img = np.empty((h, w, 3), np.float64)
    for c in range(3):
        img[..., c] = base[c] + 50 * np.sin(xx / w * (2 + i % 5) + c) * np.cos(yy / h * 3)
    img = img.clip(0, 255).astype(np.uint8)
    for _ in range(1 + i % 3):
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        radius = int(rng.integers(h // 10, h // 3))
        color = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.circle(img, center, radius, color, -1)
    return img


def text_frame(text: str = "STASHTAG", width: int = 640, height: int = 360) -> np.ndarray:
    """An RGB frame with ``text`` written large and clear, as a studio watermark would be."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (width, height), (30, 60, 90))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=height // 6)
    draw.text((width // 10, height // 3), text, fill=(250, 250, 250), font=font)
    return np.asarray(img)


def sprite_sheet(seed: int = 0, frame_w: int = FRAME_W, frame_h: int = FRAME_H) -> np.ndarray:
    """An RGB 9×9 sprite sheet of synthetic frames (Stash's layout, row-major)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(SPRITE_ROWS):
        cells = [_scene(r * SPRITE_COLS + c, rng, frame_w, frame_h) for c in range(SPRITE_COLS)]
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    import simplejpeg

    return simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=quality, colorspace="RGB")


def _stamp(seconds: float) -> str:
    ms = int(seconds * 1000)  # Stash truncates to milliseconds
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def sprite_vtt(
    sprite_name: str, duration: float, frame_w: int = FRAME_W, frame_h: int = FRAME_H
) -> str:
    """Stash's thumbnails VTT for a 9×9 sheet: cue step ``duration / 81``, basename references."""
    n = SPRITE_COLS * SPRITE_ROWS
    step = duration / n
    cues = []
    for i in range(n):
        x, y = (i % SPRITE_COLS) * frame_w, (i // SPRITE_COLS) * frame_h
        cues.append(
            f"{_stamp(i * step)} --> {_stamp((i + 1) * step)}\n"
            f"{sprite_name}#xywh={x},{y},{frame_w},{frame_h}\n"
        )
    return "WEBVTT\n\n" + "\n".join(cues)


def write_sample(
    directory: Path, name: str = "sample", seed: int = 0, duration: float = 97.0
) -> tuple[Path, Path]:
    """Write ``<name>_sprite.jpg`` and ``<name>_thumbs.vtt`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sprite = directory / f"{name}_sprite.jpg"
    sprite.write_bytes(encode_jpeg(sprite_sheet(seed)))
    vtt = directory / f"{name}_thumbs.vtt"
    vtt.write_text(sprite_vtt(sprite.name, duration))
    return sprite, vtt


DEMO_STUDIO = "Stashtag Demo"


def write_sample_library(directory: Path) -> tuple[Path, list[str]]:
    """A small library for the demo: three sprite sheets with VTTs, a short video (when PyAV is
    installed) and a still carrying a studio watermark. Returns the folder and its studio list."""
    directory = Path(directory)
    for i in range(3):
        write_sample(directory, f"scene{i + 1}", seed=i, duration=60.0 + 30 * i)
    from stashtag_client.frames.video import write_test_video
    from stashtag_core.errors import InputError

    with contextlib.suppress(InputError):  # PyAV is optional: sprites and stills still run
        write_test_video(directory / "clip.mp4", seconds=3.0)
    (directory / "watermark.jpg").write_bytes(encode_jpeg(text_frame(DEMO_STUDIO.upper())))
    return directory, [DEMO_STUDIO, "Another Studio"]


def stash_sprite_from_video(video: Path, sprite_name: str) -> tuple[bytes, str]:
    """What Stash's generator makes of a video: 81 frames of 160 px in a 9×9 sheet + its VTT."""
    from stashtag_client.frames.video import grab_frames, tile

    frames, times = grab_frames(Path(video), SPRITE_COLS * SPRITE_ROWS, FRAME_W)
    sheet, _ = tile(frames)
    h = frames[0].shape[0]
    duration = float(times[1] * len(times)) if len(times) > 1 else 0.0
    return encode_jpeg(sheet), sprite_vtt(sprite_name, duration, FRAME_W, h)
