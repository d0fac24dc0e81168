"""Model presets: which architecture and weights each stashtag model uses.

A preset names one CLIP, one YOLOv8, one DINOv2 and one PP-OCR variant. ``small`` runs on CPUs
and in tests, ``large`` is for GPUs, ``tiny`` is random-weight-only with shrunken architectures so
the test suite and the offline demo export and serve in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ClipArch:
    """One open_clip architecture."""

    name: str  # open_clip model name, e.g. "ViT-B-32"
    pretrained: str  # open_clip pretrained tag users pick by default
    embed_dim: int  # width of the joint image/text embedding
    image_size: int = 224
    context_length: int = 77  # tokens per prompt; CLIP's BPE vocabulary is shared by all
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    logit_scale: float = 100.0  # exp(logit_scale) of the pretrained weights (CLIP clamps at 100)
    # open_clip model config for architectures not in open_clip's registry (tiny test models).
    custom_config: dict | None = None


@dataclass(frozen=True)
class YoloArch:
    """One ultralytics YOLOv8 detector."""

    name: str  # "yolov8n" → weights yolov8n.pt, architecture yolov8n.yaml
    image_size: int = 640  # the native square; graphs take any size (input-size buckets)
    num_classes: int = 80  # COCO


@dataclass(frozen=True)
class DinoArch:
    """One DINOv2 backbone from transformers."""

    name: str  # short name, e.g. "dinov2-small"
    hub_id: str  # Hugging Face id of the real weights
    embed_dim: int  # hidden size: width of the CLS and mean-patch embeddings
    image_size: int = 224  # baked in: DINOv2 interpolates position embeddings at run time
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    # Dinov2Config overrides for tiny random models; None uses the hub config.
    custom_config: dict | None = None


@dataclass(frozen=True)
class OcrArch:
    """PP-OCR detection + recognition weights (upright text: no angle classifier)."""

    name: str  # "rapidocr-v6-small": the PP-OCR ONNX files the rapidocr wheel ships
    det_file: str
    rec_file: str


@dataclass(frozen=True)
class Preset:
    """The models one Triton repository serves."""

    name: str
    clip: ClipArch
    yolo: YoloArch
    dinov2: DinoArch
    ocr: OcrArch
    random_only: bool = False  # tiny architectures have no real weights


RAPIDOCR_V6 = OcrArch(
    name="rapidocr-v6-small",
    det_file="PP-OCRv6_det_small.onnx",
    rec_file="PP-OCRv6_rec_small.onnx",
)

TINY_CLIP_CONFIG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

TINY_DINO_CONFIG = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "patch_size": 14,
    "image_size": 224,
}

PRESETS: dict[str, Preset] = {
    "small": Preset(
        name="small",
        clip=ClipArch("ViT-B-32", "laion2b_s34b_b79k", 512),
        yolo=YoloArch("yolov8n"),
        dinov2=DinoArch("dinov2-small", "facebook/dinov2-small", 384),
        ocr=RAPIDOCR_V6,
    ),
    "large": Preset(
        name="large",
        clip=ClipArch("ViT-L-14", "openai", 768),
        yolo=YoloArch("yolov8l"),
        dinov2=DinoArch("dinov2-large", "facebook/dinov2-large", 1024),
        ocr=RAPIDOCR_V6,
    ),
    "tiny": Preset(
        name="tiny",
        clip=ClipArch("tiny", "none", 64, custom_config=TINY_CLIP_CONFIG, logit_scale=1 / 0.07),
        yolo=YoloArch("yolov8n"),
        dinov2=DinoArch("dinov2-tiny", "none", 64, custom_config=TINY_DINO_CONFIG),
        ocr=RAPIDOCR_V6,
        random_only=True,
    ),
}


def get_preset(name: str) -> Preset:
    """Return the preset called ``name`` or raise ``ValueError`` listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
