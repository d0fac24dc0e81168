"""fp16 variants of exported graphs (GPU serving), checked against their fp32 originals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stashtag_export.onnx_io import run_onnx
from stashtag_export.parity import Parity, check

# fp16 keeps ~3 significant digits: embeddings still point the same way.
FP16_MIN_COSINE = 0.999
# Sample side for graphs of free size: a multiple of YOLO's stride 32 and DINOv2's patch 14.
FREE_SIDE = 224


def convert_fp16(path: Path, feed: dict[str, np.ndarray]) -> list[Parity]:
    """Rewrite ``path`` with fp16 weights and compute (fp32 inputs/outputs kept), then check it.

    The fp32 graph already matched its framework; the fp16 one must match the fp32 one.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    want = run_onnx(path, feed)
    model = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    half = path.with_name(path.stem + ".fp16.onnx")
    onnx.save(model, str(half))
    got = run_onnx(half, feed)
    scale = max(float(np.abs(v).max()) for v in want.values())
    parity = check(
        f"{path.parent.parent.name} fp16",
        got,
        want,
        atol=0.05 * max(scale, 1.0),
        min_cos=FP16_MIN_COSINE,
    )
    half.replace(path)
    return parity


def sample_feed(path: Path) -> dict[str, np.ndarray]:
    """A deterministic input for a graph of ours: uint8 images or CLIP token rows."""
    import onnxruntime as ort

    from stashtag_export.onnx_io import sample_images

    feed = {}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for inp in session.get_inputs():
        if inp.type == "tensor(uint8)":
            side = inp.shape[-1]  # a name where the size is free (buckets): 224 suits
            feed[inp.name] = sample_images(2, side if isinstance(side, int) else FREE_SIDE)
        elif inp.type == "tensor(int64)":
            rng = np.random.default_rng(0)
            tokens = np.zeros((2, int(inp.shape[-1])), np.int64)
            tokens[:, 0], tokens[:, 1:9] = 49406, rng.integers(1, 49000, (2, 8))
            tokens[:, 9] = 49407  # CLIP pools at the end-of-text token (the highest id)
            feed[inp.name] = tokens
        else:
            raise ValueError(f"{path}: no sample input for {inp.name} ({inp.type})")
    return feed
