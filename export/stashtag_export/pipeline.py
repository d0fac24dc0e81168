"""Export every model of a preset into a repository, writing ``meta.json`` beside each."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from stashtag_core.errors import ExportError
from stashtag_core.presets import Preset
from stashtag_export.common import version_dir
from stashtag_export.fp16 import convert_fp16, sample_feed
from stashtag_export.int8 import INT8_MODELS, quantize_int8
from stashtag_export.onnx_io import WRITE_TORCHSCRIPT, write_meta

EXPORTERS = ("clip", "yolo", "dinov2", "ocr")
FP16_EXPORTERS = ("clip", "yolo", "dinov2")
# Which repository model folder holds each exporter's meta.json.
META_HOME = {"clip": "clip_image", "yolo": "yolo", "dinov2": "dinov2", "ocr": "ocr_rec"}


def export_all(
    preset: Preset,
    repo: Path,
    random_weights: bool,
    only: tuple[str, ...] = EXPORTERS,
    log: Callable[[str], None] = print,
    fp16: bool = False,
    torchscript: bool = False,
    int8: bool = False,
) -> dict[str, dict]:
    """Export the models named in ``only``; return each exporter's metadata (parity, timing).

    ``fp16`` rewrites the CLIP, YOLO and DINOv2 graphs with fp16 compute (fp32 inputs and
    outputs), each checked against its fp32 original; PP-OCR graphs stay as shipped.
    ``torchscript`` also traces CLIP, YOLO and DINOv2 to ``model.pt`` (python-torch target).
    ``int8`` rewrites CLIP's image graph and DINOv2 with int8 weight matmuls (CPU serving,
    :mod:`stashtag_export.int8`); one under the parity threshold stays fp32, said in the log.
    """
    if int8 and (fp16 or torchscript):
        raise ValueError(
            "int8 graphs are for ONNX Runtime on the CPU: not with fp16 or TorchScript"
        )
    from stashtag_export.clip import export_clip
    from stashtag_export.dinov2 import export_dinov2
    from stashtag_export.ocr import export_ocr
    from stashtag_export.yolo import export_yolo

    if preset.random_only and not random_weights:
        raise ValueError(f"preset {preset.name!r} has no real weights: add --random-weights")
    jobs = {
        "clip": lambda: export_clip(preset.clip, repo, random_weights),
        "yolo": lambda: export_yolo(preset.yolo, repo, random_weights),
        "dinov2": lambda: export_dinov2(preset.dinov2, repo, random_weights),
        "ocr": lambda: export_ocr(preset.ocr, repo),
    }
    results = {}
    token = WRITE_TORCHSCRIPT.set(torchscript)
    try:
        for name in only:
            results[name] = _export_one(name, jobs[name], preset, repo, fp16, log, int8)
    finally:
        WRITE_TORCHSCRIPT.reset(token)
    return results


def _export_one(
    name: str,
    job: Callable[[], dict],
    preset: Preset,
    repo: Path,
    fp16: bool,
    log: Callable[[str], None],
    int8: bool = False,
) -> dict:
    """Run one exporter; add fp16 or int8 parity and timing; write its meta.json."""
    log(f"exporting {name} ({preset.name} preset)…")
    start = time.perf_counter()
    meta = job()
    if fp16 and name in FP16_EXPORTERS:
        meta["fp16_parity"] = [
            p.as_dict() for f in meta["files"] for p in convert_fp16(Path(f), sample_feed(Path(f)))
        ]
    if int8 and name in INT8_MODELS:
        meta["int8"] = _quantize(repo, INT8_MODELS[name], log)
    meta["export_seconds"] = round(time.perf_counter() - start, 2)
    meta["preset"] = preset.name
    write_meta(version_dir(repo, META_HOME[name]), meta)
    worst = min((p["min_cosine"] for p in meta.get("parity", [])), default=1.0)
    log(f"  {name}: {meta['export_seconds']} s, parity min cosine {worst:.6f}")
    return meta


def _quantize(repo: Path, models: tuple[str, ...], log: Callable[[str], None]) -> dict:
    """int8 variants of ``models``' graphs: each one's parity, or why it stayed fp32."""
    out = {}
    for model in models:
        try:
            parity = quantize_int8(version_dir(repo, model) / "model.onnx")
        except ExportError as exc:
            log(f"  {model}: {exc}")
            out[model] = {"applied": False, "reason": str(exc)}
            continue
        worst = min(p.min_cosine for p in parity)
        log(f"  {model}: int8, min cosine {worst:.6f} against fp32")
        out[model] = {"applied": True, "parity": [p.as_dict() for p in parity]}
    return out
