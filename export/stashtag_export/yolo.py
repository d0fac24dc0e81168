"""YOLOv8 (ultralytics) → ONNX raw heads at any stride-aligned size; NMS runs in ``yolo_post``."""

from __future__ import annotations

import os
from pathlib import Path

from stashtag_core.modelspec import LETTERBOX_PAD
from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE, yolo_buckets
from stashtag_core.presets import YoloArch
from stashtag_export.common import MODEL_FILE, load_weights, version_dir
from stashtag_export.onnx_io import (
    IMAGE_HW,
    frozen,
    normalized_image_module,
    run_onnx,
    sample_images,
    torch_export,
)
from stashtag_export.parity import check


def create_model(arch: YoloArch, random_weights: bool):
    """The ultralytics ``DetectionModel`` of ``arch`` in eval mode."""
    # ultralytics would otherwise pip-install missing optional packages into the user's env.
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from ultralytics import YOLO

    if random_weights:
        yolo = YOLO(f"{arch.name}.yaml")
    else:
        yolo = load_weights(f"YOLO {arch.name}", f"{arch.name}.pt", lambda: YOLO(f"{arch.name}.pt"))
    return frozen(yolo.model.float())


def raw_heads(model):
    """``float NCHW in [0, 1] → (N, 4 + classes, anchors)``: decoded boxes + class scores."""

    def forward(x):
        out = model(x)
        return out[0] if isinstance(out, tuple | list) else out

    return forward


def export_yolo(arch: YoloArch, repo: Path, random_weights: bool) -> dict:
    import torch

    model = create_model(arch, random_weights)
    for m in model.modules():  # anchors from each input's own feature maps: free input size
        if hasattr(m, "dynamic") and hasattr(m, "stride"):
            m.dynamic = True
    # ultralytics normalises by /255 only: mean 0, std 1 on the 0..1 scale.
    module = normalized_image_module(raw_heads(model), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)).eval()
    images = sample_images(2, arch.image_size)
    path = version_dir(repo, "yolo") / MODEL_FILE
    free = {"image": IMAGE_HW, "raw": {2: "anchors"}}
    torch_export(module, (torch.from_numpy(images),), path, ["image"], ["raw"], free)
    parity = []
    # the native square and a bucket (modelspec.buckets): both sizes must match the framework
    for batch in (images, sample_images(2, _short(arch.image_size), 1, arch.image_size // 2)):
        with torch.no_grad():
            want = module(torch.from_numpy(batch)).numpy()
        parity += check(
            "yolo", run_onnx(path, {"image": batch}), {"raw": want}, atol=1e-2, min_cos=0.9999
        )
    return {
        "arch": arch.name,
        "weights": "random" if random_weights else f"{arch.name}.pt",
        "image_size": arch.image_size,
        "free_size": True,  # any stride-aligned height and width (input-size buckets)
        "letterbox_pad": LETTERBOX_PAD,
        "classes": _class_names(model),
        "parity": [p.as_dict() for p in parity],
        "files": [str(path)],
    }


def _short(native: int) -> int:
    """The short side of YOLO's smallest 16:9 bucket."""
    return yolo_buckets(native, DEFAULT_BUCKET_SCALE)[0][1]


def _class_names(model) -> list[str]:
    names = getattr(model, "names", None) or {}
    return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
