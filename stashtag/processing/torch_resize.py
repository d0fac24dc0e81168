"""The per-model resizes of :mod:`stashtag.processing.image` in PyTorch, to run on the GPU.

With ``repo build --device-resize`` (python-torch target) the ``preprocess`` model sends each
frame once at its own size (a Stash sprite cell: 160×90, 43 KB) instead of three resized copies
(CLIP 224², DINOv2 224², YOLO 640²: 1.5 MB per frame at the large preset), and each graph model
resizes on its device. Geometry is shared with the OpenCV path; the interpolation follows it
(area when shrinking, bicubic when enlarging, bilinear for the letterbox), so pixels differ only
by rounding (OpenCV works in fixed point).
"""

from __future__ import annotations

from stashtag.processing.image import crop_geometry, letterbox_geometry
from stashtag_core.modelspec import LETTERBOX_PAD

RESIZE_MODES = ("crop", "squash", "letterbox")


def parse_resize(text: str) -> tuple[str, int]:
    """``"crop:224"`` → ``("crop", 224)``."""
    mode, _, size = text.partition(":")
    if mode not in RESIZE_MODES or not size.isdigit() or int(size) < 1:
        raise ValueError(f"resize {text!r}: expected MODE:SIZE with MODE one of {RESIZE_MODES}")
    return mode, int(size)


def _scale(frames, width: int, height: int):
    """uint8 ``(N, 3, h, w)`` → float ``(N, 3, height, width)`` in 0–255, OpenCV's choice of
    interpolation."""
    import torch.nn.functional as F

    x = frames.float()
    h, w = frames.shape[-2:]
    if (h, w) == (height, width):
        return x
    if width * height < w * h:
        rows, cols = _area_weights(h, height, x), _area_weights(w, width, x)
        return rows @ x @ cols.T
    return F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False)


def _area_weights(size_in: int, size_out: int, like):
    """``(size_out, size_in)``: the share of each input pixel in each output pixel, which is
    OpenCV's INTER_AREA when shrinking (torch's "area" mode is an adaptive pooling that differs
    at fractional scales)."""
    import torch

    scale = size_in / size_out
    start = torch.arange(size_out, dtype=torch.float64, device=like.device) * scale
    edges = torch.arange(size_in + 1, dtype=torch.float64, device=like.device)
    lo = torch.maximum(start[:, None], edges[None, :-1])
    hi = torch.minimum(start[:, None] + scale, edges[None, 1:])
    return ((hi - lo).clamp_(min=0) / scale).to(like.dtype)


def _to_uint8(x):
    import torch

    return x.round_().clamp_(0, 255).to(torch.uint8)


def resize_frames(frames, mode: str, size: int):
    """Resize a uint8 ``(N, 3, h, w)`` batch for one model: ``(N, 3, size, size)`` uint8."""
    import torch.nn.functional as F

    h, w = (int(d) for d in frames.shape[-2:])
    if mode == "crop":
        nw, nh, top, left = crop_geometry(w, h, size)
        return _to_uint8(_scale(frames, nw, nh)[..., top : top + size, left : left + size])
    if mode == "squash":
        return _to_uint8(_scale(frames, size, size))
    if mode == "letterbox":
        nw, nh, box = letterbox_geometry(w, h, size)
        x = frames.float()
        if (nh, nw) != (h, w):
            x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
        top, left = int(box.pad_y), int(box.pad_x)
        pad = (left, size - nw - left, top, size - nh - top)
        return _to_uint8(F.pad(x, pad, value=float(LETTERBOX_PAD)))
    raise ValueError(f"unknown resize mode {mode!r}")
