"""Model descriptions: the one source of truth for every Triton model stashtag serves.

Each :class:`ModelSpec` names a model's tensors (name, dtype, dims), its batching and instances,
and how it runs. ``stashtag repo build`` writes ``config.pbtxt`` from these, the exporters name
ONNX tensors after them, the python-backend models read their parameters from the generated
config, and the client takes tensor names from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from stashtag_core.presets import Preset
from stashtag_core.protocol import PRIORITY_LEVELS

Target = Literal["python-ort", "python-torch", "onnxruntime", "tensorrt"]
TARGETS: tuple[str, ...] = ("python-ort", "python-torch", "onnxruntime", "tensorrt")
# Targets served by the python backend alone (the pip Triton has no other backend).
PYTHON_TARGETS = ("python-ort", "python-torch")

# Frames in one request never exceed this; a Stash sprite sheet holds 81.
MAX_FRAMES_PER_REQUEST = 128
# Decompression-bomb guard for the encoded images the server accepts.
DEFAULT_MAX_PIXELS = 40_000_000
# A Stash sprite sheet is ~0.3 MB; a 4K frame as JPEG a few MB.
DEFAULT_MAX_ENCODED_BYTES = 32 << 20
YOLO_MAX_DETECTIONS = 100
OCR_REC_HEIGHT = 48


@dataclass(frozen=True)
class Tensor:
    """One input or output. ``dims`` exclude the batch axis of batching models."""

    name: str
    dtype: Literal["UINT8", "INT32", "INT64", "FP32", "STRING"]
    dims: tuple[int, ...]


@dataclass(frozen=True)
class Batching:
    """Dynamic batching settings of one batching model."""

    max_batch_size: int
    preferred: tuple[int, ...] = ()
    max_queue_delay_us: int = 2000
    dynamic: bool = True  # False: each request runs alone (the benchmark's baseline)
    # Queues with this many priority levels (0: one FIFO queue); see stashtag_core.protocol.
    priority_levels: int = 0


@dataclass(frozen=True)
class Limits:
    """What one request may carry; the server refuses more with an error naming the limit."""

    max_pixels: int = DEFAULT_MAX_PIXELS  # decoded image (decompression bombs)
    max_frames: int = MAX_FRAMES_PER_REQUEST  # rectangles per request
    max_encoded_bytes: int = DEFAULT_MAX_ENCODED_BYTES  # the encoded image itself

    def __post_init__(self) -> None:
        if not 1 <= self.max_frames <= MAX_FRAMES_PER_REQUEST:
            raise ValueError(f"max_frames must lie in 1..{MAX_FRAMES_PER_REQUEST}")
        if self.max_pixels < 1 or self.max_encoded_bytes < 1:
            raise ValueError("max_pixels and max_encoded_bytes must be ≥ 1")

    def parameters(self) -> dict[str, str]:
        return {
            "max_pixels": str(self.max_pixels),
            "max_frames": str(self.max_frames),
            "max_encoded_bytes": str(self.max_encoded_bytes),
        }


# Models that see every frame of a request; `Tuning` applies to these (instances also to the
# decoder, which feeds them).


@dataclass(frozen=True)
class Interface:
    """The tensors a client sends to and reads from one public model (names only: the dims
    depend on the preset and come from the server's config)."""

    model: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def feed(self, *values):
        """The request's inputs by name, given in the order of :attr:`inputs`."""
        if len(values) != len(self.inputs):
            raise ValueError(f"{self.model} takes {len(self.inputs)} inputs, got {len(values)}")
        return dict(zip(self.inputs, values, strict=True))

    def unpack(self, result: dict) -> tuple:
        """The answer's outputs in the order of :attr:`outputs`."""
        return tuple(result[name] for name in self.outputs)


# The public models, the names :func:`build_specs` gives their tensors, and the client sends.
TAGGER = Interface(
    "tagger",
    ("jpeg", "rects"),
    ("clip_embedding", "dino_cls", "dino_patch_mean", "detections", "num_detections"),
)
OCR = Interface("ocr", ("jpeg", "rects"), ("text", "score", "box", "frame"))
CLIP_TEXT = Interface("clip_text", ("text",), ("embedding",))

FRAME_MODELS = ("clip_image", "yolo", "yolo_post", "dinov2")
TUNED_INSTANCES = ("preprocess", "clip_image", "yolo", "dinov2")


@dataclass(frozen=True)
class Tuning:
    """Dynamic-batching and instance settings chosen by ``stashtag bench --tune``."""

    max_queue_delay_us: int = 2000
    max_batch_size: int = MAX_FRAMES_PER_REQUEST
    preferred: tuple[int, ...] = (16, 32, 64)
    instances: int = 1

    def __post_init__(self) -> None:
        if self.max_batch_size < MAX_FRAMES_PER_REQUEST:
            raise ValueError(
                f"max_batch_size {self.max_batch_size} is below the"
                f" {MAX_FRAMES_PER_REQUEST} frames one request may carry"
            )
        if self.instances < 1 or self.max_queue_delay_us < 0:
            raise ValueError("instances must be ≥ 1 and max_queue_delay_us ≥ 0")
        if any(not 0 < p <= self.max_batch_size for p in self.preferred):
            raise ValueError(
                f"preferred sizes {self.preferred} must lie in 1..{self.max_batch_size}"
            )

    def apply(self, specs: list[ModelSpec]) -> list[ModelSpec]:
        """``specs`` with these settings on the frame models."""
        out = []
        for s in specs:
            if s.name in FRAME_MODELS and s.batching:
                s = replace(
                    s,
                    batching=replace(
                        s.batching,
                        max_batch_size=self.max_batch_size,
                        preferred=self.preferred,
                        max_queue_delay_us=self.max_queue_delay_us,
                    ),
                )
            if s.name in TUNED_INSTANCES:
                s = replace(s, instances=self.instances)
            out.append(s)
        return out


@dataclass(frozen=True)
class Step:
    """One ensemble step: a model, {its input: ensemble tensor}, {its output: ensemble tensor}."""

    model: str
    inputs: dict[str, str]
    outputs: dict[str, str]


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to write a model's config and serve it."""

    name: str
    # onnx: an exported graph (python-ort wraps it in a python model); python: a stashtag module;
    # ensemble: a pipeline of other models.
    kind: Literal["onnx", "python", "ensemble"]
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    batching: Batching | None = None
    instances: int = 1
    parameters: dict[str, str] = field(default_factory=dict)
    module: str = ""  # python kind: module that defines TritonPythonModel
    steps: tuple[Step, ...] = ()
    calls: tuple[str, ...] = ()  # models this one calls through BLS
    # onnx kind: fixed non-batch shape, so the tensorrt target builds a plan for it and the
    # python-torch target runs its TorchScript; graphs with dynamic image sizes (PP-OCR) stay
    # on ONNX Runtime there.
    plan: bool = False
    # GPUs the instances run on (repo build --gpus); () = the target's default placement.
    gpus: tuple[int, ...] = ()
    description: str = ""

    def input(self, name: str) -> Tensor:
        return _find(self.inputs, name, self.name)

    def output(self, name: str) -> Tensor:
        return _find(self.outputs, name, self.name)


def _find(tensors: tuple[Tensor, ...], name: str, model: str) -> Tensor:
    for t in tensors:
        if t.name == name:
            return t
    raise KeyError(f"model {model!r} has no tensor {name!r}")


def _image_tensor(size: int) -> Tensor:
    # uint8 NCHW: normalisation is baked into each exported graph, so frames cross process
    # boundaries at a quarter of the float size.
    return Tensor("image", "UINT8", (3, size, size))


def build_specs(
    preset: Preset, instances: int = 1, limits: Limits | None = None
) -> list[ModelSpec]:
    """Describe every model of ``preset``'s repository, in dependency order."""
    limits = limits or Limits()
    clip, yolo, dino = preset.clip, preset.yolo, preset.dinov2
    default = Tuning()
    frames = Batching(
        default.max_batch_size,
        default.preferred,
        default.max_queue_delay_us,
        priority_levels=PRIORITY_LEVELS,
    )
    jpeg, rects = TAGGER.inputs
    sprite_in = (Tensor(jpeg, "UINT8", (-1,)), Tensor(rects, "INT32", (-1, 4)))
    clip_out, cls_out, patch_out, det_out, count_out = TAGGER.outputs
    text_out, score_out, box_out, frame_out = OCR.outputs
    det_dims = (YOLO_MAX_DETECTIONS, 6)
    specs = [
        ModelSpec(
            name="preprocess",
            kind="python",
            module="stashtag.serving.preprocess_model",
            description="Decode one encoded image, crop its rectangles, resize per model.",
            inputs=sprite_in,
            outputs=(
                Tensor("clip_image", "UINT8", (-1, 3, clip.image_size, clip.image_size)),
                Tensor("yolo_image", "UINT8", (-1, 3, yolo.image_size, yolo.image_size)),
                Tensor("yolo_letterbox", "FP32", (-1, 5)),
                Tensor("dino_image", "UINT8", (-1, 3, dino.image_size, dino.image_size)),
            ),
            instances=instances,
            parameters={
                "clip_size": str(clip.image_size),
                "clip_resize": "crop",
                "yolo_size": str(yolo.image_size),
                "yolo_resize": "letterbox",
                "dino_size": str(dino.image_size),
                "dino_resize": "squash",
                **limits.parameters(),
            },
        ),
        ModelSpec(
            name="clip_image",
            kind="onnx",
            plan=True,
            description=f"CLIP {clip.name} image tower → L2-normalised embedding.",
            inputs=(_image_tensor(clip.image_size),),
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
            parameters={"context_length": str(clip.context_length)},
        ),
        ModelSpec(
            name="clip_text_encoder",
            kind="onnx",
            plan=True,
            description=f"CLIP {clip.name} text tower → L2-normalised embedding.",
            inputs=(Tensor("tokens", "INT64", (clip.context_length,)),),
            outputs=(Tensor("embedding", "FP32", (clip.embed_dim,)),),
            batching=Batching(256, preferred=(32, 64)),
            parameters={"logit_scale": f"{clip.logit_scale:.6g}"},
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
            kind="onnx",
            plan=True,
            description=f"{yolo.name} raw heads at {yolo.image_size}² (no NMS in the graph).",
            inputs=(_image_tensor(yolo.image_size),),
            outputs=(
                Tensor("raw", "FP32", (4 + yolo.num_classes, _yolo_anchors(yolo.image_size))),
            ),
            batching=frames,
            instances=instances,
        ),
        ModelSpec(
            name="yolo_post",
            kind="python",
            module="stashtag.serving.yolo_post_model",
            description="Per-class NMS; boxes mapped back to frame pixels.",
            inputs=(
                Tensor("raw", "FP32", (4 + yolo.num_classes, _yolo_anchors(yolo.image_size))),
                Tensor("letterbox", "FP32", (5,)),
            ),
            outputs=(
                Tensor("detections", "FP32", det_dims),
                Tensor("num_detections", "INT32", (1,)),
            ),
            batching=frames,
            parameters={
                "conf_threshold": "0.25",
                "iou_threshold": "0.45",
                "max_detections": str(YOLO_MAX_DETECTIONS),
            },
        ),
        ModelSpec(
            name="dinov2",
            kind="onnx",
            plan=True,
            description=f"DINOv2 {dino.name}: CLS and mean-pooled patch embeddings.",
            inputs=(_image_tensor(dino.image_size),),
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
            batching=Batching(16, preferred=(4, 8)),
        ),
        ModelSpec(
            name="ocr_rec",
            kind="onnx",
            description="PP-OCR text recognition (CTC): text line crops → per-step char scores.",
            inputs=(Tensor("image", "FP32", (3, OCR_REC_HEIGHT, -1)),),
            outputs=(Tensor("logits", "FP32", (-1, -1)),),
            batching=Batching(64, preferred=(8, 16, 32)),
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
            parameters={
                **limits.parameters(),
                "det_limit_side": "736",
                "det_threshold": "0.3",
                "box_threshold": "0.5",
                "unclip_ratio": "1.6",
                "min_text_score": "0.5",
            },
        ),
        ModelSpec(
            name=TAGGER.model,
            kind="ensemble",
            description="One encoded image + crop rectangles → CLIP, DINOv2 and YOLO per frame.",
            inputs=sprite_in,
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
                    {"jpeg": jpeg, "rects": rects},
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
    return specs


# The graph models that take frames from ``preprocess``, and the parameters naming their resize.
RESIZED_BY = {"clip_image": "clip", "yolo": "yolo", "dinov2": "dino"}


def with_device_resize(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Move the per-model resizes from ``preprocess`` into the graph models (python-torch: on
    their GPU). ``preprocess`` then sends every frame once at its own size plus YOLO's letterbox
    placement; each model gets a ``resize`` parameter (``crop:224``) and frames of any size."""
    pre = spec_by_name(specs, "preprocess")
    resize = {
        name: f"{pre.parameters[key + '_resize']}:{pre.parameters[key + '_size']}"
        for name, key in RESIZED_BY.items()
    }
    frames = Tensor("image", "UINT8", (3, -1, -1))
    out = []
    for spec in specs:
        if spec.name == "preprocess":
            spec = replace(
                spec,
                outputs=(Tensor("frames", "UINT8", (-1, 3, -1, -1)), spec.output("yolo_letterbox")),
                parameters={**spec.parameters, "device_resize": "1"},
            )
        elif spec.name in resize:
            spec = replace(
                spec,
                inputs=(frames,),
                parameters={**spec.parameters, "resize": resize[spec.name]},
            )
        elif spec.name == "tagger":
            steps = []
            for step in spec.steps:
                if step.model == "preprocess":
                    outputs = {"frames": "_frames", "yolo_letterbox": "_yolo_letterbox"}
                    step = replace(step, outputs=outputs)
                elif step.model in resize:
                    step = replace(step, inputs={"image": "_frames"})
                steps.append(step)
            spec = replace(spec, steps=tuple(steps))
        out.append(spec)
    return out


def _yolo_anchors(size: int) -> int:
    """Anchor points of YOLOv8's three heads (strides 8, 16, 32) at a square input."""
    return sum((size // s) ** 2 for s in (8, 16, 32))


def weights_file(spec: ModelSpec, target: str) -> str:
    """The weights file an ONNX-kind model loads on ``target``: fixed-shape graphs (``plan``)
    become TensorRT plans or TorchScript; PP-OCR stays ONNX everywhere."""
    if spec.plan and target == "tensorrt":
        return "model.plan"
    if spec.plan and target == "python-torch":
        return "model.pt"
    return "model.onnx"


def spec_by_name(specs: list[ModelSpec], name: str) -> ModelSpec:
    for s in specs:
        if s.name == name:
            return s
    raise KeyError(f"no model {name!r}; models: {', '.join(s.name for s in specs)}")
