"""YOLOv8 post-processing: per-class NMS on raw heads, boxes mapped back to frame pixels.

Mirrors ultralytics' ``non_max_suppression`` (best class per anchor, class-offset NMS,
``max_nms`` candidates) so results match the framework on identical raw outputs.
"""

from __future__ import annotations

import numpy as np

MAX_WH = 7680  # class offset that keeps boxes of different classes apart in one NMS pass
MAX_NMS = 30000


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    xy, half = boxes[:, :2], boxes[:, 2:4] / 2
    return np.concatenate([xy - half, xy + half], axis=1)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS over ``(N, 4)`` xyxy boxes; indices kept, highest score first."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = (np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest])).clip(0)
        h = (np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])).clip(0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def detect(
    raw: np.ndarray,
    conf_threshold: float,
    iou_threshold: float,
    max_det: int,
    agnostic: bool = False,
) -> np.ndarray:
    """One frame's raw head ``(4 + C, A)`` → ``(K, 6)`` rows ``x1 y1 x2 y2 score class``;
    ``agnostic``: one NMS over all classes (overlapping boxes of two classes keep the best)."""
    pred = raw.T  # (A, 4 + C)
    cls_scores = pred[:, 4:]
    cls = cls_scores.argmax(1)
    conf = cls_scores[np.arange(len(pred)), cls]
    cand = conf > conf_threshold
    if not cand.any():
        return np.zeros((0, 6), np.float32)
    boxes, conf, cls = xywh_to_xyxy(pred[cand, :4]), conf[cand], cls[cand]
    if len(conf) > MAX_NMS:
        top = np.argsort(-conf, kind="stable")[:MAX_NMS]
        boxes, conf, cls = boxes[top], conf[top], cls[top]
    offset = 0 if agnostic else cls[:, None] * MAX_WH
    keep = nms(boxes + offset, conf, iou_threshold)[:max_det]
    return np.concatenate(
        [boxes[keep], conf[keep, None], cls[keep, None].astype(np.float32)], axis=1
    ).astype(np.float32)


def unletterbox(dets: np.ndarray, letterbox: np.ndarray) -> np.ndarray:
    """Map xyxy boxes from the letterboxed square back to frame pixels, clipped to the frame."""
    scale, pad_x, pad_y, width, height = (float(v) for v in letterbox)
    out = dets.copy()
    out[:, [0, 2]] = ((out[:, [0, 2]] - pad_x) / scale).clip(0, width)
    out[:, [1, 3]] = ((out[:, [1, 3]] - pad_y) / scale).clip(0, height)
    return out


def postprocess_batch(
    raw: np.ndarray,
    letterboxes: np.ndarray,
    conf_threshold: float,
    iou_threshold: float,
    max_det: int,
    agnostic: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Batch ``(N, 4 + C, A)`` → padded ``(N, max_det, 6)`` detections and ``(N, 1)`` counts."""
    out = np.zeros((len(raw), max_det, 6), np.float32)
    counts = np.zeros((len(raw), 1), np.int32)
    for i, (frame_raw, lb) in enumerate(zip(raw, letterboxes, strict=True)):
        dets = detect(frame_raw, conf_threshold, iou_threshold, max_det, agnostic)
        dets = unletterbox(dets, lb)
        out[i, : len(dets)] = dets
        counts[i, 0] = len(dets)
    return out, counts
