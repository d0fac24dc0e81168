"""PP-OCR pre/post-processing: DB text detection boxes, line crops, CTC decoding.

Follows PaddleOCR's ``DBPostProcess`` and ``CTCLabelDecode`` so the exported PP-OCR graphs give the
same text as PaddleOCR/rapidocr on the same image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MIN_BOX_SIDE = 3


@dataclass(frozen=True)
class DetParams:
    limit_side: int = 736  # the shorter side is scaled up to at least this
    threshold: float = 0.3  # pixel probability that counts as text
    box_threshold: float = 0.5  # mean probability inside a box to keep it
    unclip_ratio: float = 1.6
    max_candidates: int = 1000
    max_side: int = 2000  # keeps det input bounded for large frames


def det_input(bgr: np.ndarray, params: DetParams) -> np.ndarray:
    """Resize (sides multiple of 32) and normalise a BGR frame → ``(3, H', W')`` float32."""
    h, w = bgr.shape[:2]
    ratio = max(1.0, params.limit_side / min(h, w))
    if max(h, w) * ratio > params.max_side:
        ratio = params.max_side / max(h, w)
    nh = max(32, int(round(h * ratio / 32) * 32))
    nw = max(32, int(round(w * ratio / 32) * 32))
    resized = cv2.resize(bgr, (nw, nh))
    return normalize(resized).transpose(2, 0, 1)


def normalize(img: np.ndarray) -> np.ndarray:
    """uint8 → float32 in [-1, 1] (PP-OCR's mean 0.5, std 0.5)."""
    return (img.astype(np.float32) / 255.0 - 0.5) / 0.5


def _mini_box(points: np.ndarray) -> tuple[np.ndarray, float]:
    rect = cv2.minAreaRect(points)
    pts = sorted(cv2.boxPoints(rect).tolist(), key=lambda p: p[0])
    left = sorted(pts[:2], key=lambda p: p[1])
    right = sorted(pts[2:], key=lambda p: p[1])
    box = np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)  # tl tr br bl
    return box, min(rect[1])


def _box_score(prob: np.ndarray, box: np.ndarray) -> float:
    h, w = prob.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted: np.ndarray = (box - np.array([xmin, ymin], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [shifted.reshape(-1, 2)], (1,))
    return float(cv2.mean(prob[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def _unclip(box: np.ndarray, ratio: float) -> np.ndarray:
    import pyclipper

    poly = box.astype(np.float64)
    area = abs(cv2.contourArea(poly.astype(np.float32)))
    length = cv2.arcLength(poly.astype(np.float32), True)
    distance = area * ratio / max(length, 1e-6)
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(poly.tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    out = offset.Execute(distance)
    return np.array(out[0], dtype=np.float32) if out else np.zeros((0, 2), np.float32)


def det_boxes(
    prob: np.ndarray, src_w: int, src_h: int, params: DetParams
) -> tuple[np.ndarray, np.ndarray]:
    """DB probability map ``(H, W)`` → ``(K, 4, 2)`` boxes in source pixels and their scores."""
    bitmap = cv2.dilate((prob > params.threshold).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = prob.shape
    boxes, scores = [], []
    for contour in contours[: params.max_candidates]:
        box, side = _mini_box(contour.reshape(-1, 2))
        if side < MIN_BOX_SIDE:
            continue
        score = _box_score(prob, box)
        if score < params.box_threshold:
            continue
        expanded = _unclip(box, params.unclip_ratio)
        if len(expanded) < 3:
            continue
        box, side = _mini_box(expanded)
        if side < MIN_BOX_SIDE + 2:
            continue
        box[:, 0] = np.clip(np.round(box[:, 0] / w * src_w), 0, src_w)
        box[:, 1] = np.clip(np.round(box[:, 1] / h * src_h), 0, src_h)
        boxes.append(box)
        scores.append(score)
    if not boxes:
        return np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.float32)
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][0, 1], boxes[i][0, 0]))
    return np.stack([boxes[i] for i in order]), np.array([scores[i] for i in order], np.float32)


def crop_line(bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Perspective-crop one text box upright; tall crops are turned to read left to right."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    width, height = max(width, 1), max(height, 1)
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), dst)
    crop = cv2.warpPerspective(
        bgr, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if crop.shape[0] / crop.shape[1] >= 1.5:
        crop = np.rot90(crop)
    return crop


def rec_batch(crops: list[np.ndarray], height: int = 48, min_width: int = 320) -> np.ndarray:
    """Resize crops to ``height`` keeping aspect, right-pad to a common width → ``(N, 3, h, W)``."""
    ratios = [c.shape[1] / c.shape[0] for c in crops]
    width = max(min_width, max(math.ceil(height * r) for r in ratios))
    out = np.zeros((len(crops), 3, height, width), np.float32)
    for row, crop, ratio in zip(out, crops, ratios, strict=True):
        w = min(width, max(1, math.ceil(height * ratio)))
        resized = cv2.resize(np.ascontiguousarray(crop), (w, height))
        row[:, :, :w] = normalize(resized).transpose(2, 0, 1)
    return out


def ctc_decode(probs: np.ndarray, charset: list[str]) -> list[tuple[str, float]]:
    """``(N, T, C)`` per-step class scores → (text, mean confidence) per line.

    Class 0 is the CTC blank, classes 1..len(charset) are ``charset``.
    """
    results = []
    for steps in probs:
        idx = steps.argmax(1)
        conf = steps.max(1)
        keep = idx != 0
        keep[1:] &= idx[1:] != idx[:-1]
        chars = [charset[i - 1] for i in idx[keep] if i - 1 < len(charset)]
        score = float(conf[keep].mean()) if keep.any() else 0.0
        results.append(("".join(chars), score))
    return results


def load_charset(text: str) -> list[str]:
    """PP-OCR dictionary text (one character a line) plus the trailing space class."""
    return [*text.split("\n"), " "]
