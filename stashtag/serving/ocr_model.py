"""Triton model ``ocr`` (BLS): detection → boxes → line crops → recognition, per frame.

The flow branches per frame (any number of text lines), so it calls ``ocr_det`` and ``ocr_rec``
through BLS instead of being an ensemble.
"""

from __future__ import annotations

import numpy as np

from stashtag.processing import ocr
from stashtag.serving.preprocess_model import decode_frames
from stashtag.serving.triton_io import ModelArgs, bls, per_request
from stashtag_core.modelspec import OCR_CHARSET_FILE, OCR_REC_HEIGHT
from stashtag_core.modelspec.params import OcrParams


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = a = ModelArgs(args)
        p = a.read(OcrParams)
        self.limits = p.limits
        self.det = ocr.DetParams(
            limit_side=p.det_limit_side,
            threshold=p.det_threshold,
            box_threshold=p.box_threshold,
            unclip_ratio=p.unclip_ratio,
        )
        self.min_score = p.min_text_score
        self.det_batch, self.rec_batch = p.det_max_batch, p.rec_max_batch
        # The recognition dictionary travels with ocr_rec's weights.
        charset_path = a.version_dir.parent.parent / "ocr_rec" / "1" / OCR_CHARSET_FILE
        self.charset = ocr.load_charset(charset_path.read_text(encoding="utf-8"))

    def _detect(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        inputs = [ocr.det_input(f, self.det) for f in frames]
        results: list = [None] * len(frames)
        by_shape: dict[tuple, list[int]] = {}
        for i, x in enumerate(inputs):
            by_shape.setdefault(x.shape, []).append(i)
        for same_shape in by_shape.values():
            for start in range(0, len(same_shape), self.det_batch):
                members = same_shape[start : start + self.det_batch]
                batch = np.stack([inputs[i] for i in members])
                prob = bls("ocr_det", {"image": batch}, ["prob"])["prob"]
                for i, p in zip(members, prob, strict=True):
                    h, w = frames[i].shape[:2]
                    results[i] = ocr.det_boxes(p[0], w, h, self.det)
        return results

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for start in range(0, len(crops), self.rec_batch):
            batch = ocr.rec_batch(crops[start : start + self.rec_batch], OCR_REC_HEIGHT)
            logits = bls("ocr_rec", {"image": batch}, ["logits"])["logits"]
            out.extend(ocr.ctc_decode(logits, self.charset))
        return out

    def _handle(self, request) -> dict:
        # PP-OCR was trained on BGR frames (cv2.imread order).
        frames = [f[:, :, ::-1] for f in decode_frames(request, self.limits)]
        boxes, frame_ids, crops = [], [], []
        for i, (frame_boxes, _) in enumerate(self._detect(frames)):
            for box in frame_boxes:
                boxes.append(box)
                frame_ids.append(i)
                crops.append(ocr.crop_line(frames[i], box))
        texts = self._recognise(crops) if crops else []
        keep = [k for k, (t, s) in enumerate(texts) if t.strip() and s >= self.min_score]
        return {
            "text": np.array([texts[k][0].encode("utf-8") for k in keep], dtype=np.object_),
            "score": np.array([texts[k][1] for k in keep], dtype=np.float32),
            "box": np.array([boxes[k] for k in keep], np.float32).reshape(-1, 4, 2),
            "frame": np.array([frame_ids[k] for k in keep], dtype=np.int32),
        }

    def execute(self, requests):
        return per_request(self.args.name, requests, self._handle)
