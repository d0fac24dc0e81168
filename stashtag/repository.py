"""Build a Triton model repository: configs and python-backend entries from the model specs,
weights from the exporters."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from stashtag.modelspec import ModelSpec, Target, build_specs, weights_file
from stashtag.presets import Preset
from stashtag.repoconfig import render_config, shim_module

SHIM = '''"""Triton python-backend entry of model `{name}`.

The code lives in {module}.
"""

from {module} import TritonPythonModel  # noqa: F401
'''


def uses_python(spec: ModelSpec, target: Target) -> bool:
    return spec.kind == "python" or (spec.kind == "onnx" and target == "python-ort")


def specs_for(repo: Path, preset: Preset, instances: int = 1) -> list[ModelSpec]:
    """The preset's specs, with figures only known after export (CLIP's logit scale) filled in."""
    specs = build_specs(preset, instances)
    meta_path = Path(repo) / "clip_image" / "1" / "meta.json"
    if meta_path.is_file():
        scale = json.loads(meta_path.read_text()).get("logit_scale")
        if scale is not None:
            specs = [
                replace(s, parameters={**s.parameters, "logit_scale": f"{scale:.6g}"})
                if s.name == "clip_text_encoder"
                else s
                for s in specs
            ]
    return specs


def write_configs(repo: Path, specs: list[ModelSpec], target: Target) -> list[Path]:
    """Write every ``config.pbtxt`` and python-backend ``model.py``; return the files written."""
    written = []
    for spec in specs:
        model_dir = Path(repo) / spec.name
        (model_dir / "1").mkdir(parents=True, exist_ok=True)
        config = model_dir / "config.pbtxt"
        config.write_text(render_config(spec, target))
        written.append(config)
        if uses_python(spec, target):
            shim = model_dir / "1" / "model.py"
            shim.write_text(SHIM.format(name=spec.name, module=shim_module(spec)))
            written.append(shim)
        elif spec.kind == "ensemble":
            keep = model_dir / "1" / ".gitkeep"
            keep.touch()
            written.append(keep)
    return written


def missing_files(repo: Path, specs: list[ModelSpec], target: Target) -> list[str]:
    """Weights and data files the specs need that are not in ``repo`` yet."""
    need = []
    for spec in specs:
        v = Path(repo) / spec.name / "1"
        if spec.kind == "onnx":
            need.append(v / weights_file(spec, target))
        if spec.name == "clip_tokenize":
            need.append(v / "bpe_simple_vocab_16e6.txt.gz")
        if spec.name == "ocr_rec":
            need.append(v / "charset.txt")
        if not (Path(repo) / spec.name / "config.pbtxt").is_file():
            need.append(Path(repo) / spec.name / "config.pbtxt")
    return [str(p) for p in need if not p.exists()]
