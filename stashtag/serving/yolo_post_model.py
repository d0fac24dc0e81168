"""Triton models ``yolo_post`` and ``<detector>_post``: NMS on raw YOLOv8 heads, boxes back in
frame pixels."""

from __future__ import annotations

from stashtag.processing.yolo import postprocess_batch
from stashtag.serving.triton_io import ModelArgs, run_batched
from stashtag_core.modelspec.params import NmsParams


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = ModelArgs(args)
        self.nms = self.args.read(NmsParams)

    def _run(self, raw, letterbox) -> dict:
        p = self.nms
        dets, counts = postprocess_batch(
            raw, letterbox, p.conf_threshold, p.iou_threshold, p.max_detections, p.agnostic_nms
        )
        return {"detections": dets, "num_detections": counts}

    def execute(self, requests):
        return run_batched(self.args.name, requests, ["raw", "letterbox"], self._run)
