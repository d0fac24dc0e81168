"""The models an extra detector adds to a repository (see :mod:`.detectors`)."""

from __future__ import annotations

from dataclasses import replace

from stashtag_core.modelspec.buckets import yolo_buckets
from stashtag_core.modelspec.contract import TAGGER, YOLO_MAX_DETECTIONS
from stashtag_core.modelspec.detectors import Detector
from stashtag_core.modelspec.params import (
    DetectorInput,
    NmsParams,
    PreprocessParams,
    TaggerParams,
    with_params,
)
from stashtag_core.modelspec.types import (
    Batching,
    ModelSpec,
    Step,
    Tensor,
    frame_list_tensor,
    image_tensor,
)


def with_detectors(
    specs: list[ModelSpec],
    detectors: tuple[Detector, ...],
    frames: Batching,
    instances: int,
    bucket_scale: float = 0.0,
) -> list[ModelSpec]:
    """Add each detector: a letterboxed input from ``preprocess``, its graph, its NMS model and
    two ``tagger`` outputs. Detectors run on ONNX Runtime on every target (no plan, no
    TorchScript: their source is an ONNX file, not a framework model); one whose graph takes
    any size gets input-size buckets at ``bucket_scale`` (> 0) as YOLO does."""
    sized = {d.name: _buckets(d, bucket_scale) for d in detectors}
    lists = [frame_list_tensor(d.name) for d in detectors]
    out = []
    for spec in specs:
        if spec.name == "preprocess":
            images = []
            for d in detectors:
                hw = (-1, -1) if sized[d.name] else (d.image_size, d.image_size)
                images += [
                    Tensor(f"{d.name}_image", "UINT8", (-1, 3, *hw)),
                    Tensor(f"{d.name}_letterbox", "FP32", (-1, 5)),
                ]
            fitted = tuple(
                DetectorInput(d.name, d.image_size, d.placement, d.pad, sized[d.name])
                for d in detectors
            )
            spec = replace(spec, inputs=(*spec.inputs, *lists), outputs=(*spec.outputs, *images))
            spec = with_params(spec, PreprocessParams, detectors=fitted)
        if spec.name == TAGGER.model:
            inputs = {f"{d.name}_{t}": f"_{d.name}_{t}" for d in detectors for t in IMAGE_OUTS}
            steps = [
                replace(
                    st,
                    inputs={**st.inputs, **{t.name: t.name for t in lists}},
                    outputs={**st.outputs, **inputs},
                )
                if st.model == "preprocess"
                else st
                for st in spec.steps
            ]
            spec = replace(
                spec,
                inputs=(*spec.inputs, *lists),
                outputs=(*spec.outputs, *_detector_outputs(detectors)),
                steps=(*steps, *_detector_steps(detectors)),
            )
            classes = {d.name: d.classes for d in detectors}
            spec = with_params(spec, TaggerParams, detectors=classes)
            out += [
                m
                for d in detectors
                for m in _detector_models(d, frames, instances, bool(sized[d.name]))
            ]
        out.append(spec)
    return out


IMAGE_OUTS = ("image", "letterbox")  # what preprocess makes for each detector


def _buckets(d: Detector, scale: float) -> tuple[tuple[int, int], ...]:
    """The detector's letterbox buckets; () where it runs at its native square only."""
    return yolo_buckets(d.image_size, scale) if d.free_size and scale > 0 else ()


def _detector_models(
    d: Detector, frames: Batching, instances: int, free: bool = False
) -> list[ModelSpec]:
    raw = Tensor("raw", "FP32", (4 + len(d.classes), -1 if free else d.anchors))
    image = Tensor("image", "UINT8", (3, -1, -1)) if free else image_tensor(d.image_size)
    return [
        ModelSpec(
            name=d.name,
            kind="onnx",
            frame_model=True,
            description=f"Detector {d.name}: YOLOv8 raw heads at {d.image_size}²"
            f"{' or an input-size bucket' if free else ''} ({len(d.classes)} classes).",
            inputs=(image,),
            outputs=(raw,),
            batching=frames,
            instances=instances,
        ),
        ModelSpec(
            name=f"{d.name}_post",
            kind="python",
            module="stashtag.serving.yolo_post_model",
            frame_model=True,
            description=f"Detector {d.name}: NMS; boxes mapped back to frame pixels.",
            inputs=(raw, Tensor("letterbox", "FP32", (5,))),
            outputs=(
                Tensor("detections", "FP32", (YOLO_MAX_DETECTIONS, 6)),
                Tensor("num_detections", "INT32", (1,)),
            ),
            batching=frames,
            parameters=NmsParams(
                d.conf_threshold, d.iou_threshold, agnostic_nms=d.agnostic_nms
            ).encode(),
        ),
    ]


def _detector_outputs(detectors: tuple[Detector, ...]) -> list[Tensor]:
    out = []
    for d in detectors:
        dets, counts = d.outputs
        out += [
            Tensor(dets, "FP32", (-1, YOLO_MAX_DETECTIONS, 6)),
            Tensor(counts, "INT32", (-1, 1)),
        ]
    return out


def _detector_steps(detectors: tuple[Detector, ...]) -> list[Step]:
    steps = []
    for d in detectors:
        dets, counts = d.outputs
        steps += [
            Step(d.name, {"image": f"_{d.name}_image"}, {"raw": f"_{d.name}_raw"}),
            Step(
                f"{d.name}_post",
                {"raw": f"_{d.name}_raw", "letterbox": f"_{d.name}_letterbox"},
                {"detections": dets, "num_detections": counts},
            ),
        ]
    return steps
