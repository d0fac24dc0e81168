"""Decode encoded images, cut frames out by rectangle and resize them for each model.

A Stash sprite sheet travels once as its own JPEG bytes plus one ``x, y, w, h`` rectangle per
frame; these functions turn that into uint8 NCHW batches. The same code runs in the Triton
``preprocess`` model and in parity tests, so both see identical pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np

from stashtag_core.errors import InputError
from stashtag_core.modelspec import LETTERBOX_PAD, MAX_FRAME_ASPECT
from stashtag_core.modelspec.buckets import Size
from stashtag_core.modelspec.detectors import Placement
from stashtag_core.modelspec.params import ResizeMode


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode JPEG/PNG/WebP bytes to an RGB ``(H, W, 3)`` uint8 array.

    The header is read first so an image over ``max_pixels`` is refused before any decoding
    (decompression bombs).
    """
    if len(data) == 0:
        raise InputError("empty image: 0 bytes received")
    if data[:2] == b"\xff\xd8":
        return _decode_jpeg(data, max_pixels)
    return _decode_other(data, max_pixels)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise InputError(f"image has zero size ({width}x{height})")
    if width * height > max_pixels:
        raise InputError(
            f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
        )


def _decode_jpeg(data: bytes, max_pixels: int) -> np.ndarray:
    import simplejpeg

    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError as exc:
        raise InputError(f"corrupt JPEG header ({len(data)} bytes): {exc}") from None
    _check_pixels(width, height, max_pixels)
    try:
        # strict: a truncated or damaged stream is an error, not a half-grey frame.
        return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except ValueError as exc:
        raise InputError(f"corrupt or truncated JPEG ({len(data)} bytes): {exc}") from None


def _decode_other(data: bytes, max_pixels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            _check_pixels(img.width, img.height, max_pixels)
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InputError(f"not a decodable image ({len(data)} bytes): {exc}") from None
    except ImportError:  # ultralytics, once imported, makes Image.open try a HEIF plugin first
        raise InputError(f"not a decodable image ({len(data)} bytes): no known format") from None


def check_rects(rects: np.ndarray, width: int, height: int, max_frames: int) -> np.ndarray:
    """Validate ``(N, 4)`` ``x, y, w, h`` rectangles against an image; return them as int."""
    rects = np.asarray(rects)
    if rects.ndim != 2 or rects.shape[1] != 4:
        raise InputError(f"rects must have shape (N, 4), got {tuple(rects.shape)}")
    if len(rects) == 0:
        raise InputError("no rectangles: send at least one x, y, w, h per frame")
    if len(rects) > max_frames:
        raise InputError(f"{len(rects)} rectangles, over the limit of {max_frames} per request")
    rects = rects.astype(np.int64)
    x, y, w, h = rects.T
    bad = (w <= 0) | (h <= 0) | (x < 0) | (y < 0) | (x + w > width) | (y + h > height)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"rectangle {i} {tuple(int(v) for v in rects[i])} lies outside the "
            f"{width}x{height} image ({int(bad.sum())} bad of {len(rects)})"
        )
    thin = np.maximum(w, h) > MAX_FRAME_ASPECT * np.minimum(w, h)
    if thin.any():
        i = int(np.flatnonzero(thin)[0])
        raise InputError(
            f"rectangle {i} {tuple(int(v) for v in rects[i])}: a {int(w[i])}x{int(h[i])} frame"
            f" is more than {MAX_FRAME_ASPECT}:1, no video frame (degenerate image)"
        )
    return rects


def crop_frames(image: np.ndarray, rects: np.ndarray) -> list[np.ndarray]:
    """Cut each ``x, y, w, h`` rectangle out of ``image`` (views, no copies)."""
    return [image[y : y + h, x : x + w] for x, y, w, h in rects]


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in a letterboxed square: ``square = frame * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int

    def as_array(self) -> np.ndarray:
        return np.array(
            [self.scale, self.pad_x, self.pad_y, self.width, self.height], dtype=np.float32
        )


def _interp(src_w: int, src_h: int, dst_w: int, dst_h: int) -> int:
    return cv2.INTER_AREA if dst_w * dst_h < src_w * src_h else cv2.INTER_CUBIC


def crop_geometry(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """``(new_w, new_h, top, left)``: shortest side scaled to ``size``, then the centre crop."""
    scale = size / min(height, width)
    nw, nh = max(size, round(width * scale)), max(size, round(height * scale))
    return nw, nh, (nh - size) // 2, (nw - size) // 2


def box_size(size: int | Size) -> Size:
    """``(width, height)`` of a model input given as a square side or a bucket."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def letterbox_geometry(
    width: int, height: int, size: int | Size, placement: Placement = "center"
) -> tuple[int, int, Letterbox]:
    """``(new_w, new_h, placement)`` of a frame fitted into ``size`` (a square side or a
    ``(width, height)`` bucket) keeping its aspect: centred (ultralytics) or at the top-left
    corner (NudeNet)."""
    bw, bh = box_size(size)
    scale = min(bh / height, bw / width)
    nw, nh = max(1, round(width * scale)), max(1, round(height * scale))
    if placement == "corner":
        return nw, nh, Letterbox(scale, 0.0, 0.0, width, height)
    dw, dh = (bw - nw) / 2, (bh - nh) / 2
    left, top = round(dw - 0.1), round(dh - 0.1)
    return nw, nh, Letterbox(scale, float(left), float(top), width, height)


def resize_crop(frame: np.ndarray, size: int) -> np.ndarray:
    """Shortest side to ``size`` then centre crop (CLIP's own preprocessing)."""
    h, w = frame.shape[:2]
    nw, nh, top, left = crop_geometry(w, h, size)
    resized = cv2.resize(frame, (nw, nh), interpolation=_interp(w, h, nw, nh))
    return resized[top : top + size, left : left + size]


def resize_squash(frame: np.ndarray, size: int | Size) -> np.ndarray:
    """Resize to ``size`` (a square side or a bucket) ignoring aspect: every pixel is kept."""
    h, w = frame.shape[:2]
    bw, bh = box_size(size)
    return cv2.resize(frame, (bw, bh), interpolation=_interp(w, h, bw, bh))


def resize_letterbox(
    frame: np.ndarray, size: int | Size, placement: Placement = "center", pad: int = LETTERBOX_PAD
) -> tuple[np.ndarray, Letterbox]:
    """Fit into ``size`` keeping aspect, padded ``pad`` grey (ultralytics' letterbox; NudeNet
    puts the frame in the corner of a black square)."""
    h, w = frame.shape[:2]
    bw, bh = box_size(size)
    nw, nh, box = letterbox_geometry(w, h, (bw, bh), placement)
    top, left = int(box.pad_y), int(box.pad_x)
    resized = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR)
    out = cv2.copyMakeBorder(
        resized,
        top,
        bh - nh - top,
        left,
        bw - nw - left,
        cv2.BORDER_CONSTANT,
        value=(pad,) * 3,
    )
    return out, box


def empty_batch(size: int | Size) -> np.ndarray:
    w, h = box_size(size)
    return np.zeros((0, 3, h, w), np.uint8)


def check_frame_list(indices: np.ndarray, frames: int, name: str) -> np.ndarray:
    """A request's list of the frames one model must see: ascending distinct indices into its
    ``frames`` rectangles (per-model frame budgets)."""
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise InputError(f"{name} must be a 1-D list of frame indices, got {indices.shape}")
    if len(indices) and (indices[0] < 0 or indices[-1] >= frames):
        raise InputError(f"{name} names frames outside 0..{frames - 1}")
    if (np.diff(indices) <= 0).any():
        raise InputError(f"{name} must list frame indices in ascending order, each once")
    return indices.astype(np.int64)


def to_nchw(frames: list[np.ndarray]) -> np.ndarray:
    """Stack ``(H, W, 3)`` frames into one contiguous uint8 ``(N, 3, H, W)`` batch."""
    return np.ascontiguousarray(np.stack(frames).transpose(0, 3, 1, 2))


def prepare(frames: list[np.ndarray], size: int | Size, mode: ResizeMode) -> np.ndarray:
    """Resize frames for one model; letterbox geometry is available via :func:`letterbox_batch`."""
    if not frames:  # a model whose frame list is empty this request
        return empty_batch(size)
    if mode == "crop":  # to a square only: CLIP's input
        if not isinstance(size, int):
            raise ValueError(f"crop resizes to a square side, not to {size}")
        return to_nchw([resize_crop(f, size) for f in frames])
    if mode == "squash":
        return to_nchw([resize_squash(f, size) for f in frames])
    if mode == "letterbox":
        return letterbox_batch(frames, size)[0]
    raise ValueError(f"unknown resize mode {mode!r}")


def letterbox_placements(frames: list[np.ndarray], size: int) -> np.ndarray:
    """``(N, 5)`` letterbox geometry of each frame, without resizing any."""
    return np.stack(
        [letterbox_geometry(f.shape[1], f.shape[0], size)[2].as_array() for f in frames]
    )


def one_size_batch(frames: list[np.ndarray]) -> np.ndarray:
    """Frames of one size as a uint8 ``(N, 3, H, W)`` batch (``--device-resize``: the graph
    models resize on their device). Sprite cells, video frames and single images always share a
    size; frames that do not are refused — squashing them to one size would shift every YOLO box
    mapped back through the letterbox placement of the original frame."""
    h, w = frames[0].shape[:2]
    odd = next((i for i, f in enumerate(frames) if f.shape[:2] != (h, w)), None)
    if odd is not None:
        oh, ow = frames[odd].shape[:2]
        raise InputError(
            f"frames differ in size (frame 0 is {w}x{h}, frame {odd} is {ow}x{oh}): a repository"
            " built with --device-resize needs one frame size per request"
        )
    return to_nchw(frames)


def letterbox_batch(
    frames: list[np.ndarray],
    size: int | Size,
    placement: Placement = "center",
    pad: int = LETTERBOX_PAD,
) -> tuple[np.ndarray, np.ndarray]:
    """Letterbox every frame into ``size`` (a square side or a ``(width, height)`` bucket);
    returns the ``(N, 3, H, W)`` batch and ``(N, 5)`` geometry."""
    if not frames:
        return empty_batch(size), np.zeros((0, 5), np.float32)
    boxed = [resize_letterbox(f, size, placement, pad) for f in frames]
    return to_nchw([b[0] for b in boxed]), np.stack([b[1].as_array() for b in boxed])
