"""Which build options each target accepts: one table, and the reason where it refuses one.

Like ultralytics' ``export_formats`` table: a target's row says, per option, "" (accepted) or
why it cannot take effect there; :func:`refusals` turns a request into those reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from stashtag_core.modelspec import TARGETS, Target


@dataclass(frozen=True)
class TargetOptions:
    """Per option: "" where the target takes it, else why not."""

    runs: str  # what the target serves the graph models with
    int8: str = ""
    fp16: str = ""
    device_resize: str = ""
    buckets: str = ""
    detectors: str = ""
    gpus: str = ""


_ONE_SIZE = "the {} target runs YOLO and DINOv2 at their native size"
_NO_INT8 = "int8 graphs are for ONNX Runtime on the CPU; the {} target runs {}"
_HOST_RESIZE = "--device-resize resizes in the graph models with PyTorch: only python-torch does"

TARGET_OPTIONS: dict[str, TargetOptions] = {
    "python-ort": TargetOptions(
        runs="ONNX Runtime in Triton's python backend", device_resize=_HOST_RESIZE
    ),
    "python-torch": TargetOptions(
        runs="TorchScript in Triton's python backend",
        int8=_NO_INT8.format("python-torch", "TorchScript"),
        buckets=_ONE_SIZE.format("python-torch"),
    ),
    "onnxruntime": TargetOptions(
        runs="Triton's onnxruntime backend (NGC)", device_resize=_HOST_RESIZE
    ),
    "tensorrt": TargetOptions(
        runs="TensorRT plans (NGC)",
        int8=_NO_INT8.format("tensorrt", "TensorRT plans"),
        buckets=_ONE_SIZE.format("tensorrt"),
        device_resize=_HOST_RESIZE,
    ),
}
assert set(TARGET_OPTIONS) == set(TARGETS)

# Flags as the CLI spells them, for messages.
FLAGS = {
    "int8": "--int8",
    "fp16": "--fp16",
    "device_resize": "--device-resize",
    "buckets": "--bucket-scale",
    "detectors": "--detector",
    "gpus": "--gpus",
}


def check_target(target: str) -> Target:
    """``target`` if it is one; else a ValueError listing them."""
    if target not in TARGET_OPTIONS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGET_OPTIONS)}")
    return target  # type: ignore[return-value]


def refusals(target: Target, asked: dict[str, bool]) -> list[str]:
    """Why ``target`` refuses each option ``asked`` for (``{option: given}``), as
    ``"--flag: reason"`` lines; empty when it takes them all."""
    row = TARGET_OPTIONS[check_target(target)]
    return [
        f"{FLAGS[option]}: {getattr(row, option)}"
        for option, given in asked.items()
        if given and getattr(row, option)
    ]
