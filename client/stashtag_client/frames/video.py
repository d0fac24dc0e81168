"""Video files as a frame source (PyAV): N evenly spaced frames tiled into one JPEG sheet.

Frame i is taken at ``i · duration / N`` like Stash's sprites, scaled to a chosen width (better
than 160-px sprite cells for users whose client can read the files), and encoded once.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from stashtag_client.frames.scene_frames import OcrFinder, OcrView, SceneFrames
from stashtag_core.errors import InputError


def video_readable() -> bool:
    """Whether this client can decode video files (PyAV installed: the ``video`` extra)."""
    import importlib.util

    return importlib.util.find_spec("av") is not None


def _av():
    try:
        import av
    except ImportError:
        raise InputError(
            "reading video files needs PyAV: pip install './client[video]' from a stashtag checkout"
        ) from None
    return av


def video_duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # microseconds (av.time_base)
    return 0.0


def video_support() -> bool:
    """Whether PyAV is installed (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("av") is not None


def grab_frames(path: Path, count: int, width: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``count`` evenly spaced RGB frames at ``width`` (even height) and their times in seconds."""
    return _decode(path, lambda duration: np.arange(count) * duration / count, width, cap=False)


def frames_at(path: Path, times: np.ndarray, max_width: int) -> list[np.ndarray]:
    """RGB frames at ``times`` (seconds), full size up to ``max_width`` wide."""
    return _decode(path, lambda _duration: np.asarray(times, np.float64), max_width, cap=True)[0]


def _decode(path: Path, times_of, width: int, cap: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames at ``times_of(duration)``, scaled to ``width`` (``cap``: the native width, at most
    ``width``)."""
    av = _av()
    if Path(path).stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"{path}: no video stream")
            stream = container.streams.video[0]
            duration = video_duration(container, stream)
            if not math.isfinite(duration) or duration <= 0:
                raise InputError(f"{path}: zero or unknown duration")
            times = times_of(duration)
            width = min(width, stream.width) if cap else width
            height = max(2, round(width * stream.height / stream.width / 2) * 2)
            frames = [_frame_at(container, stream, t, width, height) for t in times]
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)  # without errno and path
        raise InputError(f"{path}: cannot decode video ({reason})") from None
    found = [f is not None for f in frames]
    if not any(found):
        raise InputError(f"{path}: no decodable frames")
    # A frame past the last keyframe may not decode: reuse the previous one rather than fail.
    for i, f in enumerate(frames):
        if f is None:
            frames[i] = frames[i - 1] if i else next(x for x in frames if x is not None)
    return frames, times


def _frame_at(container, stream, t: float, width: int, height: int) -> np.ndarray | None:
    container.seek(int(t / stream.time_base), stream=stream, backward=True)
    for frame in container.decode(stream):
        if frame.time is None or frame.time + 1e-6 >= t:
            return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    return None


def tile(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Lay equal-sized frames out row-major in a near-square grid; return sheet and rects."""
    h, w = frames[0].shape[:2]
    cols = math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / cols)
    sheet = np.zeros((rows * h, cols * w, 3), np.uint8)
    rects = []
    for i, f in enumerate(frames):
        r, c = divmod(i, cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = f
        rects.append((c * w, r * h, w, h))
    return sheet, np.array(rects, np.int32)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


OCR_WIDTH = 1280  # OCR frames: 720p reads watermarks as well as 1080p at half the pixels
OCR_SHEET_FRAMES = 8  # frames per OCR sheet (1280×720 each: 7.4 Mpx, well under the pixel limit)


def ocr_finder(path: Path, times: np.ndarray, tagger_width: int = 0) -> OcrFinder:
    """OCR views of the scene frames (at ``times``) decoded again from ``path`` at full size;
    none when the video is no wider than the tagger's frames (``tagger_width``)."""

    def find(subset: np.ndarray) -> list[OcrView]:
        subset = np.asarray(subset, np.int64)
        if not Path(path).is_file():
            raise InputError(f"{path}: file not found")
        frames = frames_at(Path(path), np.asarray(times)[subset], OCR_WIDTH)
        if frames[0].shape[1] <= tagger_width:
            return []
        views = []
        for start in range(0, len(subset), OCR_SHEET_FRAMES):
            part = slice(start, start + OCR_SHEET_FRAMES)
            sheet, rects = tile(frames[part])
            views.append(OcrView(encode_jpeg(sheet), rects, subset[part], "video"))
        return views

    return find


def load_video(scene: str, path: Path, count: int, width: int) -> SceneFrames:
    if not Path(path).is_file():
        raise InputError(f"{path}: file not found")
    frames, times = grab_frames(Path(path), count, width)
    sheet, rects = tile(frames)
    return SceneFrames(
        scene,
        encode_jpeg(sheet),
        rects,
        times,
        str(path),
        "duration",
        kind="frames",
        ocr_finder=ocr_finder(path, times, frames[0].shape[1]),
    )


def write_test_video(path: Path, seconds: float = 4.0, fps: int = 10, size=(160, 90)) -> Path:
    """A small synthetic MPEG-4 video (moving gradient), for tests and the demo."""
    av = _av()
    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        yy, xx = np.mgrid[0:h, 0:w]
        for i in range(int(seconds * fps)):
            img = np.stack([(xx * 2 + i * 6) % 256, (yy * 3) % 256, np.full_like(xx, i * 8 % 256)])
            frame = av.VideoFrame.from_ndarray(img.transpose(1, 2, 0).astype(np.uint8), "rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path
