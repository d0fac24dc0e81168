"""DINOv2 (transformers) → ONNX at any input size: CLS and mean-pooled patch embeddings."""

from __future__ import annotations

from pathlib import Path

from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE, dino_buckets
from stashtag_core.presets import DinoArch
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

# Architecture of the hub checkpoints, for random-weight exports of the real sizes.
HUB_SHAPES = {
    384: {"num_hidden_layers": 12, "num_attention_heads": 6, "intermediate_size": 1536},
    768: {"num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    1024: {"num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
}


def create_model(arch: DinoArch, random_weights: bool):
    from transformers import Dinov2Config, Dinov2Model

    if random_weights:
        cfg = arch.custom_config or {
            "hidden_size": arch.embed_dim,
            "image_size": arch.image_size,
            "patch_size": 14,
            **HUB_SHAPES[arch.embed_dim],
        }
        model = Dinov2Model(Dinov2Config(**cfg))
    elif arch.custom_config is not None:
        raise ValueError(f"DINOv2 {arch.name!r} exists only with random weights")
    else:
        model = load_weights(
            f"DINOv2 {arch.name}", arch.hub_id, lambda: Dinov2Model.from_pretrained(arch.hub_id)
        )
    return frozen(model)


def embeddings(model):
    """``float NCHW → (cls, patch_mean)`` from the final layer-normed hidden states."""

    def forward(x):
        hidden = model(pixel_values=x).last_hidden_state
        return hidden[:, 0], hidden[:, 1:].mean(dim=1)

    return forward


def export_dinov2(arch: DinoArch, repo: Path, random_weights: bool) -> dict:
    import torch

    model = create_model(arch, random_weights)
    module = normalized_image_module(embeddings(model), arch.mean, arch.std).eval()
    images = sample_images(2, arch.image_size)
    path = version_dir(repo, "dinov2") / MODEL_FILE
    outputs = ["cls", "patch_mean"]
    torch_export(module, (torch.from_numpy(images),), path, ["image"], outputs, {"image": IMAGE_HW})
    parity = []
    # the native square and the 16:9 bucket (modelspec.buckets): interpolated positions
    wide = dino_buckets(arch.image_size, DEFAULT_BUCKET_SCALE)[0]
    for batch in (images, sample_images(2, min(wide), 1, max(wide))):
        with torch.no_grad():
            cls, patch_mean = (t.numpy() for t in module(torch.from_numpy(batch)))
        parity += check(
            "dinov2",
            run_onnx(path, {"image": batch}),
            {"cls": cls, "patch_mean": patch_mean},
            atol=1e-3,
            min_cos=0.99999,
        )
    return {
        "arch": arch.name,
        "weights": "random" if random_weights else arch.hub_id,
        "embed_dim": arch.embed_dim,
        "image_size": arch.image_size,
        "free_size": True,  # any height and width: input-size buckets
        "mean": list(arch.mean),
        "std": list(arch.std),
        "parity": [p.as_dict() for p in parity],
        "files": [str(path)],
    }
