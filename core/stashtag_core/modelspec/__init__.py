"""Model descriptions: the one source of truth for every Triton model stashtag serves.

Each :class:`ModelSpec` names a model's tensors (name, dtype, dims), its batching and instances,
and how it runs. ``stashtag repo build`` writes ``config.pbtxt`` from these, the exporters name
ONNX tensors and files after them, the python-backend models read their parameters from the
generated config, and the client takes the public models' tensor names (:data:`TAGGER`,
:data:`OCR`, :data:`CLIP_TEXT`) from here.
"""

from stashtag_core.modelspec.build import (
    RESIZED_BY,
    build_specs,
    spec_by_name,
    weights_file,
    with_device_resize,
)
from stashtag_core.modelspec.contract import (
    CLIP_MERGES_FILE,
    CLIP_TEXT,
    FRAME_MODELS,
    LETTERBOX_PAD,
    MAX_FRAME_ASPECT,
    META_FILE,
    OCR,
    OCR_CHARSET_FILE,
    OCR_REC_HEIGHT,
    ONNX_FILE,
    PLAN_FILE,
    TAGGER,
    TORCHSCRIPT_FILE,
    YOLO_MAX_DETECTIONS,
    Interface,
    frame_list,
)
from stashtag_core.modelspec.detectors import Detector, nudenet_detector
from stashtag_core.modelspec.limits import (
    DEFAULT_MAX_ENCODED_BYTES,
    DEFAULT_MAX_PIXELS,
    MAX_FRAMES_PER_REQUEST,
    Limits,
    Tuning,
)
from stashtag_core.modelspec.types import (
    PYTHON_TARGETS,
    TARGETS,
    Batching,
    ModelSpec,
    Step,
    Target,
    Tensor,
)

__all__ = [
    "CLIP_MERGES_FILE",
    "CLIP_TEXT",
    "DEFAULT_MAX_ENCODED_BYTES",
    "DEFAULT_MAX_PIXELS",
    "FRAME_MODELS",
    "LETTERBOX_PAD",
    "MAX_FRAMES_PER_REQUEST",
    "MAX_FRAME_ASPECT",
    "META_FILE",
    "OCR",
    "OCR_CHARSET_FILE",
    "OCR_REC_HEIGHT",
    "ONNX_FILE",
    "PLAN_FILE",
    "PYTHON_TARGETS",
    "RESIZED_BY",
    "TAGGER",
    "TARGETS",
    "TORCHSCRIPT_FILE",
    "YOLO_MAX_DETECTIONS",
    "Batching",
    "Detector",
    "Interface",
    "Limits",
    "ModelSpec",
    "Step",
    "Target",
    "Tensor",
    "Tuning",
    "build_specs",
    "frame_list",
    "nudenet_detector",
    "spec_by_name",
    "weights_file",
    "with_device_resize",
]
