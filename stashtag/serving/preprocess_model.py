"""Triton model ``preprocess``: one encoded image + rectangles → per-model uint8 frame batches."""

from __future__ import annotations

from stashtag.processing.image import (
    check_rects,
    crop_frames,
    decode_image,
    letterbox_batch,
    prepare,
)
from stashtag.serving.triton_io import ModelArgs, encoded_bytes, get_input, per_request


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = a = ModelArgs(args)
        self.max_pixels = a.param("max_pixels", int)
        self.max_frames = a.param("max_frames", int)
        self.clip = (a.param("clip_size", int), a.param("clip_resize"))
        self.yolo_size = a.param("yolo_size", int)
        self.dino = (a.param("dino_size", int), a.param("dino_resize"))

    def _handle(self, request) -> dict:
        frames = decode_frames(request, self.max_pixels, self.max_frames)
        yolo, letterbox = letterbox_batch(frames, self.yolo_size)
        return {
            "clip_image": prepare(frames, *self.clip),
            "yolo_image": yolo,
            "yolo_letterbox": letterbox,
            "dino_image": prepare(frames, *self.dino),
        }

    def execute(self, requests):
        return per_request(self.args.name, requests, self._handle)


def decode_frames(request, max_pixels: int, max_frames: int):
    """Decode a request's ``jpeg`` and cut out its ``rects`` (RGB frames)."""
    image = decode_image(encoded_bytes(request), max_pixels)
    rects = check_rects(get_input(request, "rects"), image.shape[1], image.shape[0], max_frames)
    return crop_frames(image, rects)
