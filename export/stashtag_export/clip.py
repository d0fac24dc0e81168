"""CLIP (open_clip) → two ONNX graphs: image tower and text tower, L2-normalised outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from stashtag_core.modelspec import CLIP_MERGES_FILE
from stashtag_core.presets import ClipArch
from stashtag_export.common import MODEL_FILE, load_weights, version_dir
from stashtag_export.onnx_io import (
    frozen,
    normalized_image_module,
    run_onnx,
    sample_images,
    torch_export,
)
from stashtag_export.parity import check

PARITY_PROMPTS = ["a photo of a bedroom", "outdoor pool at night", "a person on a beach", ""]


def create_model(arch: ClipArch, random_weights: bool):
    """The open_clip model of ``arch`` in eval mode (random weights need no download)."""
    import open_clip

    if arch.custom_config is not None:
        if not random_weights:
            raise ValueError(f"CLIP {arch.name!r} exists only with random weights")
        from open_clip.model import CLIP

        model = CLIP(**arch.custom_config)
    elif random_weights:
        model = open_clip.create_model(arch.name, pretrained=None)
    else:
        model = load_weights(
            f"CLIP {arch.name}",
            arch.pretrained,
            lambda: open_clip.create_model(arch.name, pretrained=arch.pretrained),
        )
    return frozen(model)


def export_clip(arch: ClipArch, repo: Path, random_weights: bool) -> dict:
    """Write ``clip_image``, ``clip_text_encoder`` and the tokenizer merges into ``repo``."""
    import open_clip
    import torch

    model = create_model(arch, random_weights)
    image_path = version_dir(repo, "clip_image") / MODEL_FILE
    image_module = normalized_image_module(
        lambda x: model.encode_image(x, normalize=True), arch.mean, arch.std
    ).eval()
    images = sample_images(2, arch.image_size)
    torch_export(image_module, (torch.from_numpy(images),), image_path, ["image"], ["embedding"])

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, tokens):
            return self.model.encode_text(tokens, normalize=True)

    text_path = version_dir(repo, "clip_text_encoder") / MODEL_FILE
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    tokens = tokenizer(PARITY_PROMPTS)
    torch_export(TextTower().eval(), (tokens,), text_path, ["tokens"], ["embedding"])
    merges = Path(open_clip.__file__).parent / CLIP_MERGES_FILE
    shutil.copy(merges, version_dir(repo, "clip_tokenize") / CLIP_MERGES_FILE)

    with torch.no_grad():
        want_img = image_module(torch.from_numpy(images)).numpy()
        want_txt = model.encode_text(tokens, normalize=True).numpy()
    parity = check(
        "clip_image",
        run_onnx(image_path, {"image": images}),
        {"embedding": want_img},
        atol=1e-4,
        min_cos=0.99999,
    ) + check(
        "clip_text_encoder",
        run_onnx(text_path, {"tokens": tokens.numpy()}),
        {"embedding": want_txt},
        atol=1e-4,
        min_cos=0.99999,
    )
    logit_scale = float(np.exp(model.logit_scale.detach().numpy()).squeeze())
    return {
        "arch": arch.name,
        "weights": "random" if random_weights else arch.pretrained,
        "embed_dim": arch.embed_dim,
        "logit_scale": logit_scale,
        "image_size": arch.image_size,
        "mean": list(arch.mean),
        "std": list(arch.std),
        "parity": [p.as_dict() for p in parity],
        "files": [str(image_path), str(text_path)],
    }
