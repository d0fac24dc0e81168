"""Triton model ``preprocess``: one encoded image + rectangles → per-model uint8 frame batches."""

from __future__ import annotations

import triton_python_backend_utils as pb_utils

from stashtag.processing.image import (
    check_frame_list,
    check_rects,
    crop_frames,
    decode_image,
    letterbox_batch,
    letterbox_placements,
    one_size_batch,
    prepare,
)
from stashtag.serving.triton_io import ModelArgs, encoded_bytes, get_input, per_request
from stashtag_core.errors import InputError
from stashtag_core.modelspec import FRAME_MODELS, Limits, frame_list
from stashtag_core.modelspec.buckets import letterbox_bucket
from stashtag_core.modelspec.params import PreprocessParams


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = ModelArgs(args)
        p = self.args.read(PreprocessParams)
        self.limits = p.limits
        self.clip = (p.clip_size, p.clip_resize)
        self.yolo_size = p.yolo_size
        self.dino_resize = p.dino_resize
        # One bucket per request (its frames leave as one tensor); see modelspec.buckets.
        self.buckets = p.bucket_choice()
        self.device_resize = p.device_resize
        self.detectors = p.detectors

    def _handle(self, request) -> dict:
        frames = decode_frames(request, self.limits)
        if self.device_resize:  # the graph models resize (repo build --device-resize)
            out = {
                "frames": one_size_batch(frames),
                "yolo_letterbox": letterbox_placements(frames, self.yolo_size),
            }
        else:
            clip, yolo, dino = (listed(request, frames, m) for m in FRAME_MODELS)
            images, letterbox = letterbox_batch(yolo, self.buckets.yolo(shapes(yolo)))
            out = {
                "clip_image": prepare(clip, *self.clip),
                "yolo_image": images,
                "yolo_letterbox": letterbox,
                "dino_image": prepare(dino, self.buckets.dino(shapes(dino)), self.dino_resize),
            }
        for d in self.detectors:  # on the host: their graphs run on ONNX Runtime
            mine = listed(request, frames, d.name)
            size: int | tuple[int, int] = d.size
            if d.buckets:  # a graph that takes any size
                size = letterbox_bucket(shapes(mine), d.buckets, self.buckets.scale)
            out[f"{d.name}_image"], out[f"{d.name}_letterbox"] = letterbox_batch(
                mine, size, d.placement, d.pad
            )
        return out

    def execute(self, requests):
        return per_request(self.args.name, requests, self._handle)


def shapes(frames: list) -> list[tuple[int, int]]:
    return [(f.shape[1], f.shape[0]) for f in frames] or [(1, 1)]


def listed(request, frames: list, model: str) -> list:
    """The frames the request lists for ``model`` (every frame when it lists none)."""
    name = frame_list(model)
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        return frames
    return [frames[i] for i in check_frame_list(tensor.as_numpy(), len(frames), name)]


def decode_frames(request, limits: Limits):
    """Decode a request's ``jpeg`` and cut out its ``rects`` (RGB frames), within ``limits``."""
    data = encoded_bytes(request)
    if len(data) > limits.max_encoded_bytes:
        raise InputError(
            f"encoded image is {len(data)} bytes, over the limit of {limits.max_encoded_bytes}"
        )
    image = decode_image(data, limits.max_pixels)
    rects = get_input(request, "rects")
    return crop_frames(image, check_rects(rects, image.shape[1], image.shape[0], limits.max_frames))
