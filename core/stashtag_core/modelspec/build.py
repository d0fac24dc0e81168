"""Every model of a preset's repository, described once: :func:`build_specs`."""

from __future__ import annotations

from dataclasses import replace

from stashtag_core.modelspec.buckets import dino_buckets, format_sizes, yolo_buckets
from stashtag_core.modelspec.contract import (
    CLIP_TEXT,
    FRAME_MODELS,
    OCR,
    OCR_REC_HEIGHT,
    ONNX_FILE,
    PLAN_FILE,
    TAGGER,
    TORCHSCRIPT_FILE,
    YOLO_MAX_DETECTIONS,
)
from stashtag_core.modelspec.detector_specs import with_detectors
from stashtag_core.modelspec.detectors import Detector
from stashtag_core.modelspec.limits import Limits, Tuning
from stashtag_core.modelspec.params import (
    DeviceResize,
    NmsParams,
    OcrParams,
    PreprocessParams,
    TaggerParams,
    TextEncoderParams,
    TokenizeParams,
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
from stashtag_core.presets import Preset
from stashtag_core.protocol import PRIORITY_LEVELS


def build_specs(
    preset: Preset,
    instances: int = 1,
    limits: Limits | None = None,
    detectors: tuple[Detector, ...] = (),
    bucket_scale: float = 0.0,
) -> list[ModelSpec]:
    """Describe every model of ``preset``'s repository, in dependency order; ``detectors``
    adds each extra detector to ``preprocess`` and the ``tagger`` ensemble. ``bucket_scale``
    > 0 runs YOLO and DINOv2 at input sizes chosen per request (:mod:`.buckets`): their inputs
    get free height and width; 0 keeps their native squares."""
    limits = limits or Limits()
    clip, yolo, dino = preset.clip, preset.yolo, preset.dinov2
    yolo_sizes = yolo_buckets(yolo.image_size, bucket_scale)
    dino_sizes = dino_buckets(dino.image_size, bucket_scale)
    yolo_hw, dino_hw = _hw(yolo_sizes), _hw(dino_sizes)
    yolo_raw = (4 + yolo.num_classes, -1 if -1 in yolo_hw else _yolo_anchors(yolo.image_size))
    default = Tuning()
    frames = Batching(
        default.max_batch_size,
        default.preferred,
        default.max_queue_delay_us,
        priority_levels=PRIORITY_LEVELS,
    )
    jpeg, rects = TAGGER.inputs
    sprite_in = (Tensor(jpeg, "UINT8", (-1,)), Tensor(rects, "INT32", (-1, 4)))
    budgets = tuple(frame_list_tensor(m) for m in FRAME_MODELS)
    clip_out, cls_out, patch_out, det_out, count_out = TAGGER.outputs
    text_out, score_out, box_out, frame_out = OCR.outputs
    det_dims = (YOLO_MAX_DETECTIONS, 6)
    det_batching = Batching(16, preferred=(4, 8))
    rec_batching = Batching(64, preferred=(8, 16, 32))
    specs = [
        ModelSpec(
            name="preprocess",
            kind="python",
            module="stashtag.serving.preprocess_model",
            description="Decode one encoded image, crop its rectangles, resize per model"
            " (each for the frames its list names).",
            inputs=(*sprite_in, *budgets),
            outputs=(
                Tensor("clip_image", "UINT8", (-1, 3, clip.image_size, clip.image_size)),
                Tensor("yolo_image", "UINT8", (-1, 3, *yolo_hw)),
                Tensor("yolo_letterbox", "FP32", (-1, 5)),
                Tensor("dino_image", "UINT8", (-1, 3, *dino_hw)),
            ),
            instances=instances,
            parameters=PreprocessParams(
                clip_size=clip.image_size,
                yolo_size=yolo.image_size,
                dino_size=dino.image_size,
                bucket_scale=bucket_scale,
                yolo_buckets=yolo_sizes,
                dino_buckets=dino_sizes,
                limits=limits,
            ).encode(),
        ),
        ModelSpec(
            name="clip_image",
            frame_model=True,
            kind="onnx",
            plan=True,
            description=f"CLIP {clip.name} image tower → L2-normalised embedding.",
            inputs=(image_tensor(clip.image_size),),
            outputs=(Tensor("embedding", "FP32", (clip.embed_dim,)),),
            batching=frames,
            instances=instances,
        ),
        ModelSpec(
            name="clip_tokenize",
            kind="python",
            module="stashtag.serving.tokenize_model",
            description="CLIP BPE tokenizer: prompt strings → token ids.",
            inputs=(Tensor("text", "STRING", (1,)),),
            outputs=(Tensor("tokens", "INT64", (clip.context_length,)),),
            batching=Batching(256, preferred=(32, 64)),
            parameters=TokenizeParams(clip.context_length).encode(),
        ),
        ModelSpec(
            name="clip_text_encoder",
            kind="onnx",
            plan=True,
            description=f"CLIP {clip.name} text tower → L2-normalised embedding.",
            inputs=(Tensor("tokens", "INT64", (clip.context_length,)),),
            outputs=(Tensor("embedding", "FP32", (clip.embed_dim,)),),
            batching=Batching(256, preferred=(32, 64)),
            parameters=TextEncoderParams(clip.logit_scale).encode(),
        ),
        ModelSpec(
            name=CLIP_TEXT.model,
            kind="ensemble",
            description="Prompt strings → CLIP text embeddings (tokenised server-side).",
            inputs=(Tensor(CLIP_TEXT.inputs[0], "STRING", (1,)),),
            outputs=(Tensor(CLIP_TEXT.outputs[0], "FP32", (clip.embed_dim,)),),
            batching=Batching(256),
            steps=(
                Step("clip_tokenize", {"text": CLIP_TEXT.inputs[0]}, {"tokens": "_tokens"}),
                Step(
                    "clip_text_encoder", {"tokens": "_tokens"}, {"embedding": CLIP_TEXT.outputs[0]}
                ),
            ),
        ),
        ModelSpec(
            name="yolo",
            frame_model=True,
            kind="onnx",
            plan=True,
            description=f"{yolo.name} raw heads at {format_sizes(yolo_sizes)} (no NMS in the"
            " graph).",
            inputs=(Tensor("image", "UINT8", (3, *yolo_hw)),),
            outputs=(Tensor("raw", "FP32", yolo_raw),),
            batching=frames,
            instances=instances,
        ),
        ModelSpec(
            name="yolo_post",
            frame_model=True,
            kind="python",
            module="stashtag.serving.yolo_post_model",
            description="Per-class NMS; boxes mapped back to frame pixels.",
            inputs=(Tensor("raw", "FP32", yolo_raw), Tensor("letterbox", "FP32", (5,))),
            outputs=(
                Tensor("detections", "FP32", det_dims),
                Tensor("num_detections", "INT32", (1,)),
            ),
            batching=frames,
            parameters=NmsParams().encode(),
        ),
        ModelSpec(
            name="dinov2",
            frame_model=True,
            kind="onnx",
            plan=True,
            description=f"DINOv2 {dino.name} at {format_sizes(dino_sizes)}: CLS and mean-pooled"
            " patch embeddings.",
            inputs=(Tensor("image", "UINT8", (3, *dino_hw)),),
            outputs=(
                Tensor("cls", "FP32", (dino.embed_dim,)),
                Tensor("patch_mean", "FP32", (dino.embed_dim,)),
            ),
            batching=frames,
            instances=instances,
        ),
        ModelSpec(
            name="ocr_det",
            kind="onnx",
            description="PP-OCR text detection (DB): normalised image → text probability map.",
            inputs=(Tensor("image", "FP32", (3, -1, -1)),),
            outputs=(Tensor("prob", "FP32", (1, -1, -1)),),
            batching=det_batching,
        ),
        ModelSpec(
            name="ocr_rec",
            kind="onnx",
            description="PP-OCR text recognition (CTC): text line crops → per-step char scores.",
            inputs=(Tensor("image", "FP32", (3, OCR_REC_HEIGHT, -1)),),
            outputs=(Tensor("logits", "FP32", (-1, -1)),),
            batching=rec_batching,
        ),
        ModelSpec(
            name=OCR.model,
            kind="python",
            module="stashtag.serving.ocr_model",
            description="BLS: detection → boxes → crops → recognition; text, score, box per line.",
            inputs=sprite_in,
            outputs=(
                Tensor(text_out, "STRING", (-1,)),
                Tensor(score_out, "FP32", (-1,)),
                Tensor(box_out, "FP32", (-1, 4, 2)),
                Tensor(frame_out, "INT32", (-1,)),
            ),
            calls=("ocr_det", "ocr_rec"),
            # The BLS sends at most this many frames / crops per call (any number in all).
            # Detection scales each frame's short side up to det_limit_side (a 160x90 cell
            # becomes 1312x736, 11 MB of float input): 8 a call bounds ocr_det's memory.
            parameters=OcrParams(
                limits,
                det_max_batch=min(8, det_batching.max_batch_size),
                rec_max_batch=rec_batching.max_batch_size,
            ).encode(),
        ),
        ModelSpec(
            name=TAGGER.model,
            kind="ensemble",
            description="One encoded image + crop rectangles → CLIP, DINOv2 and YOLO per frame"
            " (optional per-model frame lists: each model sees the frames its list names).",
            inputs=(*sprite_in, *budgets),
            # clients send per-model frame lists only to a tagger that says it takes them
            parameters=TaggerParams(frame_lists=True).encode(),
            outputs=(
                Tensor(clip_out, "FP32", (-1, clip.embed_dim)),
                Tensor(cls_out, "FP32", (-1, dino.embed_dim)),
                Tensor(patch_out, "FP32", (-1, dino.embed_dim)),
                Tensor(det_out, "FP32", (-1, *det_dims)),
                Tensor(count_out, "INT32", (-1, 1)),
            ),
            steps=(
                Step(
                    "preprocess",
                    {"jpeg": jpeg, "rects": rects, **{t.name: t.name for t in budgets}},
                    {
                        "clip_image": "_clip_image",
                        "yolo_image": "_yolo_image",
                        "yolo_letterbox": "_yolo_letterbox",
                        "dino_image": "_dino_image",
                    },
                ),
                Step("clip_image", {"image": "_clip_image"}, {"embedding": clip_out}),
                Step("yolo", {"image": "_yolo_image"}, {"raw": "_yolo_raw"}),
                Step(
                    "yolo_post",
                    {"raw": "_yolo_raw", "letterbox": "_yolo_letterbox"},
                    {"detections": det_out, "num_detections": count_out},
                ),
                Step(
                    "dinov2",
                    {"image": "_dino_image"},
                    {"cls": cls_out, "patch_mean": patch_out},
                ),
            ),
        ),
    ]
    return with_detectors(specs, detectors, frames, instances, bucket_scale) if detectors else specs


# The graph models that take frames from ``preprocess``, and the parameters naming their resize.
RESIZED_BY = {"clip_image": "clip", "yolo": "yolo", "dinov2": "dino"}


def with_device_resize(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Move the per-model resizes from ``preprocess`` into the graph models (python-torch: on
    their GPU). ``preprocess`` then sends every frame once at its own size plus YOLO's letterbox
    placement; each model gets a ``resize`` parameter (``crop:224``) and frames of any size."""
    pre = PreprocessParams.decode(spec_by_name(specs, "preprocess").parameters)
    resize = {
        name: f"{getattr(pre, key + '_resize')}:{getattr(pre, key + '_size')}"
        for name, key in RESIZED_BY.items()
    }
    frames = Tensor("image", "UINT8", (3, -1, -1))
    host_made = {"clip_image", "yolo_image", "yolo_letterbox", "dino_image"}
    out = []
    for spec in specs:
        if spec.name in ("preprocess", "tagger"):  # one frames tensor feeds every model
            spec = replace(spec, inputs=tuple(t for t in spec.inputs if not t.optional))
        if spec.name == "tagger":
            spec = with_params(spec, TaggerParams, frame_lists=False)
        if spec.name == "preprocess":
            spec = replace(
                spec,
                outputs=(
                    Tensor("frames", "UINT8", (-1, 3, -1, -1)),
                    spec.output("yolo_letterbox"),
                    *(o for o in spec.outputs if o.name not in host_made),  # detectors'
                ),
            )
            spec = with_params(spec, PreprocessParams, device_resize=True)
        elif spec.name in resize:
            spec = replace(spec, inputs=(frames,))
            spec = with_params(spec, DeviceResize, resize=resize[spec.name])
        elif spec.name == "tagger":
            steps = []
            for step in spec.steps:
                if step.model == "preprocess":
                    outputs = {"frames": "_frames", "yolo_letterbox": "_yolo_letterbox"}
                    outputs |= {k: v for k, v in step.outputs.items() if k not in host_made}
                    inputs = {k: v for k, v in step.inputs.items() if k in TAGGER.inputs}
                    step = replace(step, inputs=inputs, outputs=outputs)
                elif step.model in resize:
                    step = replace(step, inputs={"image": "_frames"})
                steps.append(step)
            spec = replace(spec, steps=tuple(steps))
        out.append(spec)
    return out


def _hw(sizes: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """Height and width dims of a model fed ``sizes``: fixed for one size, free for several."""
    if len(sizes) == 1:
        return sizes[0][1], sizes[0][0]
    return -1, -1


def _yolo_anchors(size: int) -> int:
    """Anchor points of YOLOv8's three heads (strides 8, 16, 32) at a square input."""
    return sum((size // s) ** 2 for s in (8, 16, 32))


def weights_file(spec: ModelSpec, target: str) -> str:
    """The weights file an ONNX-kind model loads on ``target``: fixed-shape graphs (``plan``)
    become TensorRT plans or TorchScript; PP-OCR stays ONNX everywhere."""
    if spec.plan and target == "tensorrt":
        return PLAN_FILE
    if spec.plan and target == "python-torch":
        return TORCHSCRIPT_FILE
    return ONNX_FILE


def spec_by_name(specs: list[ModelSpec], name: str) -> ModelSpec:
    for s in specs:
        if s.name == name:
            return s
    raise KeyError(f"no model {name!r}; models: {', '.join(s.name for s in specs)}")
