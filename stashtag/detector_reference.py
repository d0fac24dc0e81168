"""The content detector against NudeNet's own Python API, on real photographs.

Runs the exported graph through the server's own pre/post-processing (the code the
``preprocess`` and ``content_post`` models run) and NudeNet's ``NudeDetector.detect`` on the same
files, then matches their detections: same class, boxes in pixels, scores. The figures go into
the detector's ``meta.json``; the Triton tests check the served ensemble the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stashtag.processing.image import decode_image, letterbox_batch
from stashtag.processing.yolo import postprocess_batch
from stashtag_core.modelspec import YOLO_MAX_DETECTIONS, Detector


def detect_files(model: Path, detector: Detector, paths: list[Path]) -> list[list[dict]]:
    """Our detections for each image file, NudeNet-shaped: class, score, ``[x, y, w, h]``."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    frames = [decode_image(p.read_bytes(), 1 << 30) for p in paths]
    return [detections_as_dicts(d, detector) for d in detect_frames(session, detector, frames)]


def detect_frames(
    session, detector: Detector, frames: list[np.ndarray], size: int | tuple[int, int] = 0
) -> list[np.ndarray]:
    """Detections in frame pixels, the frames letterboxed into ``size`` (a bucket; 0: the
    detector's native square)."""
    size = size or detector.image_size
    batch, boxes = letterbox_batch(frames, size, detector.placement, detector.pad)
    (raw,) = session.run(["raw"], {"image": batch})
    dets, counts = postprocess_batch(
        raw,
        boxes,
        detector.conf_threshold,
        detector.iou_threshold,
        YOLO_MAX_DETECTIONS,
        detector.agnostic_nms,
    )
    return [d[:n] for d, n in zip(dets, counts[:, 0], strict=True)]


def detections_as_dicts(dets: np.ndarray, detector: Detector) -> list[dict]:
    return [
        {
            "class": detector.classes[int(c)],
            "score": float(s),
            "box": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
        }
        for x1, y1, x2, y2, s, c in dets
    ]


def compare(ours: list[dict], theirs: list[dict]) -> dict:
    """Match each of NudeNet's detections to ours of the same class (best overlap); report the
    worst box corner distance in pixels, the worst score difference and what did not match."""
    box_px, score, unmatched = 0.0, 0.0, []
    used: set[int] = set()
    for t in theirs:
        same = [(i, o) for i, o in enumerate(ours) if o["class"] == t["class"] and i not in used]
        if not same:
            unmatched.append(t["class"])
            continue
        i, o = max(same, key=lambda io: _iou(io[1]["box"], t["box"]))
        used.add(i)
        box_px = max(box_px, float(np.abs(np.subtract(o["box"], t["box"])).max()))
        score = max(score, abs(o["score"] - t["score"]))
    extra = [o["class"] for i, o in enumerate(ours) if i not in used]
    return {
        "theirs": len(theirs),
        "matched": len(theirs) - len(unmatched),
        "max_box_px": round(box_px, 2),
        "max_score_diff": round(score, 4),
        "missing": unmatched,
        "extra": extra,
    }


def nudenet_parity(model: Path, detector: Detector, paths: list[Path]) -> dict:
    """:func:`compare` for each file, plus the worst figures over all of them."""
    from nudenet import NudeDetector

    reference = NudeDetector()
    per_image = {}
    for path, ours in zip(paths, detect_files(model, detector, paths), strict=True):
        per_image[path.name] = {
            **compare(ours, reference.detect(str(path))),
            "detections": [{**d, "score": round(d["score"], 4)} for d in ours],
        }
    rows = per_image.values()
    return {
        "reference": "nudenet.NudeDetector.detect",
        "images": per_image,
        "max_box_px": max((r["max_box_px"] for r in rows), default=0.0),
        "max_score_diff": max((r["max_score_diff"] for r in rows), default=0.0),
        "all_matched": all(not r["missing"] and not r["extra"] for r in rows),
    }


def _iou(a: list[float], b: list[float]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)
