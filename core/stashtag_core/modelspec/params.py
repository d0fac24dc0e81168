"""The parameters of each model, typed: the specs write them into ``config.pbtxt``, the served
models (``stashtag/serving``) and the client read them back with the same class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from stashtag_core.modelspec.buckets import BucketChoice
from stashtag_core.modelspec.contract import YOLO_MAX_DETECTIONS
from stashtag_core.modelspec.detectors import Placement
from stashtag_core.modelspec.limits import Limits
from stashtag_core.modelspec.param_codec import Params, Sizes, format_sizes, parse_sizes
from stashtag_core.modelspec.types import ModelSpec

P = TypeVar("P", bound=Params)
ResizeMode = Literal["crop", "letterbox", "squash"]  # how preprocess fits a frame to a model


def with_params(spec: ModelSpec, cls: type[P], **changes: Any) -> ModelSpec:
    """``spec`` with some of its ``cls`` parameters changed, its other parameters kept."""
    old = cls.decode(spec.parameters, spec.name)
    kept = {k: v for k, v in spec.parameters.items() if k not in old.encode()}
    return replace(spec, parameters=kept | old.but(**changes).encode())


@dataclass(frozen=True)
class DetectorInput:
    """How ``preprocess`` fits frames for one extra detector."""

    name: str
    size: int  # its native square
    placement: Placement
    pad: int
    buckets: Sizes = ()  # its input-size buckets; (): the native square only

    @property
    def letterbox(self) -> str:
        return f"{self.size}:{self.placement}:{self.pad}"


@dataclass(frozen=True)
class PreprocessParams(Params):
    """``preprocess``: each frame model's input size and resize, the request limits, and the
    input-size buckets (``bucket_scale`` 0: native squares)."""

    clip_size: int
    yolo_size: int
    dino_size: int
    clip_resize: ResizeMode = "crop"
    yolo_resize: ResizeMode = "letterbox"
    dino_resize: ResizeMode = "squash"
    bucket_scale: float = 0.0
    yolo_buckets: Sizes | None = None  # None: the native square
    dino_buckets: Sizes | None = None
    limits: Limits = field(default_factory=Limits)
    device_resize: bool = False  # the graph models resize (repo build --device-resize)
    # written as ``detectors`` (their names), ``{name}_letterbox`` and ``{name}_buckets``
    detectors: tuple[DetectorInput, ...] = field(default=(), metadata={"custom": True})

    def bucket_choice(self) -> BucketChoice:
        return BucketChoice(
            self.bucket_scale,
            self.yolo_buckets or ((self.yolo_size, self.yolo_size),),
            self.dino_buckets or ((self.dino_size, self.dino_size),),
        )

    def _encode_more(self) -> dict[str, str]:
        if not self.detectors:
            return {}
        out = {"detectors": ",".join(d.name for d in self.detectors)}
        for d in self.detectors:
            out[f"{d.name}_letterbox"] = d.letterbox
            if d.buckets:
                out[f"{d.name}_buckets"] = format_sizes(d.buckets)
        return out

    @classmethod
    def _decode_more(cls, raw: Mapping[str, str]) -> dict[str, Any]:
        detectors = []
        for name in (n for n in raw.get("detectors", "").split(",") if n):
            key = f"{name}_letterbox"
            if key not in raw:
                raise ValueError(f"config.pbtxt lacks parameter {key!r}")
            size, placement, pad = _letterbox(raw[key])
            buckets = parse_sizes(raw[f"{name}_buckets"]) if f"{name}_buckets" in raw else ()
            detectors.append(DetectorInput(name, size, placement, pad, buckets))
        return {"detectors": tuple(detectors)}


@dataclass(frozen=True)
class TaggerParams(Params):
    """The ``tagger`` ensemble, as clients read it. Defaults are what a server that does not
    write a key means (older servers: no frame lists, no model id, no detectors)."""

    frame_lists: bool = False  # takes per-model frame lists
    model_id: str = "unversioned"  # the weights' identity: stores keep results apart by it
    detectors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name: class names


@dataclass(frozen=True)
class NmsParams(Params):
    """``yolo_post`` and each detector's ``{name}_post``."""

    conf_threshold: float = 0.25
    iou_threshold: float = 0.45
    max_detections: int = YOLO_MAX_DETECTIONS
    agnostic_nms: bool = False  # one NMS over all classes (NudeNet) instead of per class


@dataclass(frozen=True)
class OcrParams(Params):
    """``ocr``: PP-OCR's detection thresholds and how many frames / crops a BLS call sends."""

    limits: Limits = field(default_factory=Limits)
    det_limit_side: int = 736  # the shorter side is scaled up to at least this
    det_threshold: float = 0.3  # pixel probability that counts as text
    box_threshold: float = 0.5  # mean probability inside a box to keep it
    unclip_ratio: float = 1.6
    min_text_score: float = 0.5
    det_max_batch: int = 8
    rec_max_batch: int = 64


@dataclass(frozen=True)
class TokenizeParams(Params):
    context_length: int


@dataclass(frozen=True)
class TextEncoderParams(Params):
    """``clip_text_encoder``: CLIP's learned temperature, which the client scores with."""

    logit_scale: float = 100.0


@dataclass(frozen=True)
class DeviceResize(Params):
    """A graph model that resizes frames itself (``resize``: ``crop:224``, python-torch)."""

    resize: str | None = None


@dataclass(frozen=True)
class OrtRunner(Params):
    """A graph the python-ort target runs with ONNX Runtime (``stashtag/serving/onnx_model``)."""

    onnx_file: str
    intra_op_threads: int = 0  # 0: ONNX Runtime's default
    # frames per Session.run: bounds the activations a merged batch of up to 128 frames holds
    # at once (YOLO at 640²: 6 GB RSS at 128)
    run_chunk: int = 32


@dataclass(frozen=True)
class TorchRunner(Params):
    """A graph the python-torch target runs (``stashtag/serving/torch_model``)."""

    torch_file: str
    precision: str = "fp16"  # autocast on GPUs (fp16 or bf16); CPUs run fp32
    cuda_graph_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # GPUs only; (): no graphs
    intra_op_threads: int = 0


def _letterbox(text: str) -> tuple[int, Placement, int]:
    """``size:placement:pad`` (:attr:`DetectorInput.letterbox`)."""
    size, placement, pad = text.split(":")
    if placement not in ("center", "corner"):
        raise ValueError(f"letterbox placement {placement!r}: center or corner")
    return int(size), placement, int(pad)  # type: ignore[return-value]
