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
from stashtag_core.modelspec.buckets import BucketChoice, letterbox_bucket, parse_sizes
from stashtag_core.modelspec.detectors import parse_letterbox_parameter


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = a = ModelArgs(args)
        self.limits = request_limits(a)
        self.clip = (a.param("clip_size", int), a.param("clip_resize"))
        self.yolo_size = a.param("yolo_size", int)
        self.dino_resize = a.param("dino_resize")
        # One bucket per request (its frames leave as one tensor); see modelspec.buckets.
        self.buckets = BucketChoice(a.params)
        self.device_resize = a.params.get("device_resize") == "1"
        names = [n for n in a.params.get("detectors", "").split(",") if n]
        self.detectors = {n: parse_letterbox_parameter(a.param(f"{n}_letterbox")) for n in names}
        # detectors whose graphs take any size: {name: their buckets}
        self.detector_buckets = {
            n: parse_sizes(a.params[f"{n}_buckets"]) for n in names if f"{n}_buckets" in a.params
        }

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
        for name, (size, placement, pad) in self.detectors.items():  # on the host: ORT graphs
            mine = listed(request, frames, name)
            if name in self.detector_buckets:
                size = letterbox_bucket(
                    shapes(mine), self.detector_buckets[name], self.buckets.scale
                )
            out[f"{name}_image"], out[f"{name}_letterbox"] = letterbox_batch(
                mine, size, placement, pad
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


def request_limits(args: ModelArgs) -> Limits:
    return Limits(
        args.param("max_pixels", int),
        args.param("max_frames", int),
        args.param("max_encoded_bytes", int),
    )


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
