"""int8 variants of the transformer graphs for CPU serving: ONNX Runtime's dynamic quantisation of
the weight matmuls (int8 weights per output channel, activations quantised per run), checked
against fp32. Only the matmuls against a weight are quantised: attention's activation ×
activation products stay fp32.

Where it pays, measured on this project's 2-core AVX-512 VNNI CPU (small preset, batch 16, ONNX
Runtime, 2 threads, interleaved rounds): CLIP ViT-B/32 at 224² 2.4–2.7× and DINOv2-S at 126×224
2.0–2.5× the fp32 graph's rate, embedding cosine ≥ 0.999 against it.

YOLO stays fp32: static QDQ quantisation with a calibration set of real photographs made YOLOv8n
1.6× faster at 320×192 (2.2× at 640²), but with buckets and frame budgets it runs on every third
frame at 320×192: about 3 ms of a frame's 33 ms of model time once CLIP and DINOv2 are int8, so
it would gain about 4 % while moving box coordinates by pixels, and no real COCO weights are
reachable here to measure what that costs in detections.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from stashtag_core.errors import ExportError
from stashtag_export.onnx_io import run_onnx, sample_images
from stashtag_export.parity import Parity, compare

# Exporters whose graphs get an int8 variant, and the repository folders of those graphs.
INT8_MODELS = {"clip": ("clip_image",), "dinov2": ("dinov2",)}
# Why 0.998: a CLIP tag's probability is a sigmoid (or a group's softmax) of 100 × cosines
# between the frame's embedding and prompt embeddings. An image embedding at cosine c from fp32,
# its error in no particular direction of d dimensions, moves such a logit by about
# 100·sqrt(2(1 - c)/d): 0.28 at c = 0.998, d = 512, which moves a probability near a 0.5
# threshold by under 0.07 — only frames already that close to a threshold can flip, and a tag is
# decided over many frames. For DINOv2, 0.998 is a 3.6° turn of a frame's embedding, a seventh of
# the 25.8° between two frames the duplicate check still matches (cosine 0.9). Measured: ≥ 0.999
# on the small and tiny presets' graphs.
INT8_MIN_COSINE = 0.998
# Sample sizes: CLIP's square, DINOv2's square and its 16:9 bucket (height, width).
PARITY_SIZES = ((224, 224), (126, 224))
PARITY_IMAGES = 8


def weights_as_initializers(model) -> int:
    """Move ``Constant`` tensors into the graph's initializers (in place); return how many.

    The torch exporter writes weights as Constant nodes, which the quantiser does not take for
    weights: a matmul counts as one against a weight only when that input is an initializer."""
    keep, moved = [], 0
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        if node.op_type == "Constant" and set(attrs) == {"value"}:
            tensor = attrs["value"].t
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
            moved += 1
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return moved


def parity_feeds(path: Path) -> list[dict[str, np.ndarray]]:
    """Deterministic uint8 images for ``path``'s image input, at each size it takes."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    if inp.type != "tensor(uint8)":
        raise ExportError(f"{path}: int8 parity expects a uint8 image input, not {inp.type}")
    fixed = [d for d in inp.shape[-2:] if isinstance(d, int)]
    sizes = [tuple(fixed)] if len(fixed) == 2 else PARITY_SIZES
    return [
        {inp.name: sample_images(PARITY_IMAGES, h, seed=i, width=w)}
        for i, (h, w) in enumerate(sizes)
    ]


def quantize_int8(path: Path, min_cosine: float = INT8_MIN_COSINE) -> list[Parity]:
    """Rewrite the ONNX graph at ``path`` with int8 weight matmuls and return its parity
    against the fp32 graph on :func:`parity_feeds`.

    Raises :class:`ExportError` (``path`` left as it was) when any embedding row's cosine to
    fp32 is under ``min_cosine`` or the graph has no weight matmul to quantise."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = Path(path)
    feeds = parity_feeds(path)
    want = [run_onnx(path, f) for f in feeds]
    model = onnx.load(str(path))
    weights_as_initializers(model)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        staged, out = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(model, str(staged))
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its advice to pre-process concerns static quantisation
        try:
            quantize_dynamic(
                staged,
                out,
                op_types_to_quantize=["MatMul"],
                per_channel=True,  # same speed here; DINOv2 cls error 0.0011 → 0.0008
                weight_type=QuantType.QInt8,
                extra_options={"MatMulConstBOnly": True},
            )
        finally:
            root.setLevel(level)
        quantized = sum(n.op_type == "MatMulInteger" for n in onnx.load(str(out)).graph.node)
        if not quantized:
            raise ExportError(f"{path}: no matmul against a weight to quantise to int8")
        parity = []
        for feed, fp32 in zip(feeds, want, strict=True):
            got = run_onnx(out, feed)
            (h, w) = next(iter(feed.values())).shape[-2:]
            parity += [compare(f"{k} at {w}x{h}", got[k], fp32[k]) for k in fp32]
        worst = min(parity, key=lambda p: p.min_cosine)
        if worst.min_cosine < min_cosine:
            raise ExportError(
                f"{path.parent.parent.name}: int8 parity too low on {worst.output!r}: min"
                f" cosine {worst.min_cosine:.6f} against fp32 (needs {min_cosine}); it stays fp32"
            )
        out.replace(path)
    return parity
