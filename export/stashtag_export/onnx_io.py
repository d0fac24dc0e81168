"""Shared ONNX export steps: named tensors, dynamic batch axis, uint8 image wrappers, metadata."""

from __future__ import annotations

import json
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from stashtag_core.modelspec import META_FILE, TORCHSCRIPT_FILE

OPSET = 17  # fp16 LayerNorm needs ≥ 17
# Set by export_all for the python-torch target: every graph is also traced to TorchScript.
WRITE_TORCHSCRIPT: ContextVar[bool] = ContextVar("write_torchscript", default=False)


def torch_export(
    module,
    example: tuple,
    path: Path,
    inputs: list[str],
    outputs: list[str],
    free_size: dict[str, dict[int, str]] | None = None,
) -> Path:
    """Trace ``module`` to ONNX with every tensor named and a dynamic batch axis; ``free_size``
    frees more axes (``{"image": {2: "height", 3: "width"}}``: input-size buckets). Inside
    :data:`WRITE_TORCHSCRIPT` (the python-torch target) it also writes a checked TorchScript
    trace beside the graph (``model.pt``)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    # The fused MHA fast path traces to ops the ONNX exporter cannot express.
    torch.backends.mha.set_fastpath_enabled(False)
    axes = {name: {0: "batch", **(free_size or {}).get(name, {})} for name in [*inputs, *outputs]}
    with torch.no_grad():
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    if WRITE_TORCHSCRIPT.get():
        torchscript_export(module, example, path.with_name(TORCHSCRIPT_FILE))
    return path


def torchscript_export(module, example: tuple, path: Path, atol: float = 1e-4) -> Path:
    """Trace ``module`` to TorchScript (for the python-torch target) and check that the trace
    matches the module at another batch size than the one traced."""
    import torch

    from stashtag_core.errors import ExportError

    with torch.no_grad():
        traced = torch.jit.trace(module, example, check_trace=False)
        other = tuple(torch.cat([x, x[:1]]) for x in example)  # batch + 1: the axis is dynamic
        want, got = module(*other), traced(*other)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    for w, g in zip(want, got, strict=True):
        if w.shape != g.shape or not torch.allclose(w, g, atol=atol, rtol=1e-4):
            raise ExportError(f"{path}: the TorchScript trace differs from the model")
    traced.save(str(path))
    return path


def frozen(model):
    """``model`` in eval mode with gradients off (traced weights become graph constants)."""
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def normalized_image_module(fn, mean, std):
    """Wrap ``fn(float NCHW)`` so it takes uint8 NCHW and normalises inside the graph."""
    import torch

    class UInt8Image(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            scale = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
            self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255.0)
            self.register_buffer("scale", scale)
            self.fn = fn

        def forward(self, image):
            return self.fn((image.float() - self.mean) / self.scale)

    return UInt8Image()


def run_onnx(path: Path, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run an exported graph in-process with ONNX Runtime (CPU) and name its outputs."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed), strict=True))


def write_meta(version_dir: Path, meta: dict) -> Path:
    """Write ``meta.json`` (source, weights, preprocessing, parity) beside the weights."""
    path = version_dir / META_FILE
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


IMAGE_HW = {2: "height", 3: "width"}  # free axes of an NCHW image input


def sample_images(n: int, size: int, seed: int = 0, width: int | None = None) -> np.ndarray:
    """Deterministic uint8 ``(n, 3, size, width or size)`` images with structure (not noise)."""
    rng = np.random.default_rng(seed)
    width = width or size
    yy, xx = np.mgrid[0:size, 0:width] / max(size, width)
    base = np.stack([np.sin(6 * xx), np.cos(5 * yy), np.sin(4 * (xx + yy))])
    imgs = (base[None] * 0.5 + 0.5) * 200 + rng.uniform(0, 55, (n, 3, size, width))
    return imgs.clip(0, 255).astype(np.uint8)
