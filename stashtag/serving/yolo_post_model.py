"""Triton models ``yolo_post`` and ``<detector>_post``: NMS on raw YOLOv8 heads, boxes back in
frame pixels."""

from __future__ import annotations

from stashtag.processing.yolo import postprocess_batch
from stashtag.serving.triton_io import ModelArgs, run_batched


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = a = ModelArgs(args)
        self.conf = a.param("conf_threshold", float)
        self.iou = a.param("iou_threshold", float)
        self.max_det = a.param("max_detections", int)
        self.agnostic = a.params.get("agnostic_nms") == "1"  # extra detectors may ask for it

    def _run(self, raw, letterbox) -> dict:
        dets, counts = postprocess_batch(
            raw, letterbox, self.conf, self.iou, self.max_det, self.agnostic
        )
        return {"detections": dets, "num_detections": counts}

    def execute(self, requests):
        return run_batched(self.args.name, requests, ["raw", "letterbox"], self._run)
