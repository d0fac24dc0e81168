"""Extra YOLOv8-format detectors served beside the COCO one: NudeNet's, or a user's own.

A :class:`Detector` is everything the server's pre/post-processing and the client need to know
about one such model; ``repo build --detector`` saves it in the repository's settings, and
:func:`~stashtag_core.modelspec.build.build_specs` turns it into a graph model, its NMS model,
a letterbox output of ``preprocess`` and two outputs of the ``tagger`` ensemble.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Literal

from stashtag_core.modelspec.contract import LETTERBOX_PAD

Placement = Literal["center", "corner"]
# Names the repository already uses, or would use for a detector's companions.
RESERVED = {
    "preprocess",
    "clip_image",
    "clip_tokenize",
    "clip_text_encoder",
    "clip_text",
    "yolo",
    "dinov2",
    "ocr",
    "ocr_det",
    "ocr_rec",
    "tagger",
    "clip",
    "dino",
}
NAME_RE = re.compile(r"[a-z][a-z0-9]{0,23}")

# The content detector: NudeNet 3.4's YOLOv8n (320n.onnx in the `nudenet` wheel, AGPL-3.0), with
# NudeNet's own preprocessing: frame at the top-left of a black square, class-agnostic NMS, and
# BGR channels (its `_read_image` swaps channels twice: cvtColor(RGBA2BGR) on cv2's BGR, then
# blobFromImage(swapRB=True)). Its scores and its users' thresholds come from that input.
NUDENET_NAME = "content"
NUDENET_CLASSES = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)


@dataclass(frozen=True)
class Detector:
    """One YOLOv8-format detector: raw heads ``(4 + classes, anchors)`` at a square input."""

    name: str  # its model in the repository; the tagger's outputs are <name>_detections, …
    image_size: int
    classes: tuple[str, ...]
    placement: Placement = "center"  # center: ultralytics' letterbox; corner: NudeNet's
    pad: int = LETTERBOX_PAD  # grey level of the border
    agnostic_nms: bool = False  # one NMS over all classes (NudeNet) instead of per class
    bgr: bool = False  # the graph takes BGR: it reverses the channels of our RGB frames
    conf_threshold: float = 0.25
    iou_threshold: float = 0.45
    # the exported graph takes any stride-aligned size: input-size buckets (its meta.json says)
    free_size: bool = False

    def __post_init__(self) -> None:
        if not NAME_RE.fullmatch(self.name) or self.name in RESERVED:
            raise ValueError(
                f"detector name {self.name!r}: use 1-24 lower-case letters or digits, starting"
                f" with a letter, other than {', '.join(sorted(RESERVED))}"
            )
        if not 32 <= self.image_size <= 2048 or self.image_size % 32:
            raise ValueError(
                f"detector {self.name}: image size {self.image_size} is not a "
                "multiple of 32 in 32..2048"
            )
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"detector {self.name}: class names must be given, each once")
        if self.placement not in ("center", "corner"):
            raise ValueError(f"detector {self.name}: placement must be center or corner")
        if not 0 <= self.pad <= 255:
            raise ValueError(f"detector {self.name}: pad must be a grey level 0..255")

    @property
    def anchors(self) -> int:
        """Anchor points of YOLOv8's three heads (strides 8, 16, 32) at the square input."""
        return sum((self.image_size // s) ** 2 for s in (8, 16, 32))

    @property
    def outputs(self) -> tuple[str, str]:
        """The tagger ensemble's outputs for this detector: detections and their counts."""
        return detector_outputs(self.name)

    def as_dict(self) -> dict:
        return {**asdict(self), "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, data: dict) -> Detector:
        return cls(**{**data, "classes": tuple(data["classes"])})


def detector_outputs(name: str) -> tuple[str, str]:
    """The tagger's outputs for detector ``name``: padded detections and their counts."""
    return f"{name}_detections", f"{name}_num_detections"


def nudenet_detector() -> Detector:
    return Detector(NUDENET_NAME, 320, NUDENET_CLASSES, "corner", 0, agnostic_nms=True, bgr=True)
