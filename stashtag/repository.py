"""Build a Triton model repository: configs and python-backend entries from the model specs,
weights from the exporters."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

from google.protobuf import text_format

from stashtag.repo_detectors import detector_metas, saved_detectors, sized_by_export
from stashtag.repo_settings import SETTINGS_FILE, read_settings, save_setting
from stashtag.repoconfig import parse_config, render_config, shim_module
from stashtag_core.modelspec import (
    CLIP_MERGES_FILE,
    META_FILE,
    OCR_CHARSET_FILE,
    PYTHON_TARGETS,
    TARGETS,
    Detector,
    Limits,
    ModelSpec,
    Target,
    Tuning,
    build_specs,
    spec_by_name,
    weights_file,
    with_device_resize,
)
from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE
from stashtag_core.presets import PRESETS, Preset, get_preset

SHIM = '''"""Triton python-backend entry of model `{name}`.

The code lives in {module}.
"""

from {module} import TritonPythonModel  # noqa: F401
'''


def uses_python(spec: ModelSpec, target: Target) -> bool:
    return spec.kind == "python" or (spec.kind == "onnx" and target in PYTHON_TARGETS)


def _section(repo: Path, section: str, cls):
    raw = read_settings(repo).get(section)
    if raw is None:
        return None
    try:
        if "preferred" in raw:
            raw = {**raw, "preferred": tuple(raw["preferred"])}
        return cls(**raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{Path(repo) / SETTINGS_FILE}: {section}: {exc} (delete the section to go back to"
            " the defaults)"
        ) from None


def read_tuning(repo: Path) -> Tuning | None:
    """The batching settings ``stashtag bench --tune`` saved in ``repo``, if any."""
    return _section(repo, "tuning", Tuning)


def save_tuning(repo: Path, tuning: Tuning) -> Path:
    return save_setting(repo, "tuning", asdict(tuning))


def read_limits(repo: Path) -> Limits:
    """The request limits saved by ``repo build --max-…`` (defaults otherwise)."""
    return _section(repo, "limits", Limits) or Limits()


def save_limits(repo: Path, limits: Limits) -> Path:
    return save_setting(repo, "limits", asdict(limits))


def read_gpus(repo: Path) -> tuple[int, ...]:
    """GPUs the graph models run on, saved by ``repo build --gpus`` (() = default)."""
    gpus = read_settings(repo).get("gpus", [])
    if not isinstance(gpus, list) or not all(isinstance(g, int) and g >= 0 for g in gpus):
        raise ValueError(f"{Path(repo) / SETTINGS_FILE}: gpus: expected a list of GPU numbers")
    return tuple(gpus)


def save_gpus(repo: Path, gpus: tuple[int, ...]) -> Path:
    return save_setting(repo, "gpus", list(gpus))


def _flag(repo: Path, name: str) -> bool:
    value = read_settings(repo).get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{Path(repo) / SETTINGS_FILE}: {name}: expected true or false")
    return value


def read_device_resize(repo: Path) -> bool:
    """Whether ``repo build --device-resize`` moved the resizes into the graph models."""
    return _flag(repo, "device_resize")


def save_device_resize(repo: Path, on: bool) -> Path:
    return save_setting(repo, "device_resize", on)


def saved_bucket_scale(repo: Path) -> float:
    """The input-size bucket scale saved by ``repo build --bucket-scale`` (default 2)."""
    value = read_settings(repo).get("bucket_scale", DEFAULT_BUCKET_SCALE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 16:
        raise ValueError(f"{Path(repo) / SETTINGS_FILE}: bucket_scale: expected 0 (off) to 16")
    return float(value)


def save_bucket_scale(repo: Path, scale: float) -> Path:
    return save_setting(repo, "bucket_scale", scale)


def buckets_in_use(repo: Path, target: Target | None = None) -> tuple[float, str]:
    """The bucket scale the configs use and, when it is 0 against the saved setting, why:
    TensorRT plans and TorchScript traces are built for one size, ``--device-resize`` resizes
    in the graphs, and graphs exported before buckets existed take their native square only."""
    scale = saved_bucket_scale(repo)
    target = target or built_target(repo)
    if scale == 0:
        return 0.0, ""
    if target in ("tensorrt", "python-torch"):
        return 0.0, f"the {target} target runs YOLO and DINOv2 at their native size"
    if read_device_resize(repo):
        return 0.0, "--device-resize runs YOLO and DINOv2 at their native size"
    fixed = []
    for model in ("yolo", "dinov2"):
        meta = Path(repo) / model / "1" / META_FILE
        if meta.is_file() and not json.loads(meta.read_text()).get("free_size"):
            fixed.append(model)
    if fixed:
        return 0.0, (
            f"{' and '.join(fixed)} were exported at a fixed size: re-export them"
            f" (`stashtag repo build --only {','.join(fixed)} --repo {repo}`) to run them at"
            " the frames' own resolution"
        )
    return scale, ""


# Targets whose graphs ONNX Runtime runs, where int8 graphs can serve.
INT8_TARGETS = ("python-ort", "onnxruntime")


def saved_int8(repo: Path) -> bool:
    """Whether ``repo build --int8`` asked for int8 graphs in this repository's exports."""
    return _flag(repo, "int8")


def save_int8(repo: Path, on: bool) -> Path:
    return save_setting(repo, "int8", on)


def int8_models(repo: Path) -> list[str]:
    """The repository's graph models exported with int8 weight matmuls (``--int8``)."""
    out = []
    for model in ("clip_image", "dinov2"):
        meta = Path(repo) / model / "1" / META_FILE
        if meta.is_file():
            quant = json.loads(meta.read_text()).get("int8", {})
            out += [m for m, q in quant.items() if q.get("applied")]
    return out


def specs_for(
    repo: Path,
    preset: Preset,
    instances: int = 1,
    detectors: tuple[Detector, ...] | None = None,
    target: Target | None = None,
    bucket_scale: float | None = None,
) -> list[ModelSpec]:
    """The preset's specs plus the repository's saved detectors (or ``detectors``), with what
    is only known after export filled in: CLIP's logit scale, a ``model_id`` on ``tagger`` that
    changes whenever any exported weights change (clients key their embedding stores by it),
    the input-size buckets the exports allow (:func:`buckets_in_use`; ``target``: the one being
    built, else the built one; ``bucket_scale`` overrides it) and the repository's saved limits
    and tuning (which wins over ``instances``)."""
    detectors = sized_by_export(repo, saved_detectors(repo) if detectors is None else detectors)
    scale_used = buckets_in_use(repo, target)[0] if bucket_scale is None else bucket_scale
    specs = build_specs(preset, instances, read_limits(repo), detectors, scale_used)
    tuning = read_tuning(repo)
    if tuning:
        specs = tuning.apply(specs)
    if read_device_resize(repo):
        specs = with_device_resize(specs)
    gpus = read_gpus(repo)
    if gpus:
        specs = [replace(s, gpus=gpus) if s.kind == "onnx" else s for s in specs]
    metas = {m: Path(repo) / m / "1" / META_FILE for m in ("clip_image", "yolo", "dinov2")}
    metas |= detector_metas(repo, detectors)
    if not all(p.is_file() for p in metas.values()):
        return specs
    texts = {m: p.read_text() for m, p in metas.items()}
    scale = json.loads(texts["clip_image"]).get("logit_scale")
    if scale_used:  # DINOv2 embeds a frame differently per bucket: stores keyed apart
        texts["~buckets"] = spec_by_name(specs, "preprocess").parameters["dino_buckets"]
    digest = hashlib.sha256("".join(texts[m] for m in sorted(texts)).encode()).hexdigest()[:12]
    extra = {
        "clip_text_encoder": {"logit_scale": f"{scale:.6g}"} if scale is not None else {},
        "tagger": {"model_id": f"{preset.name}-{digest}"},
    }
    return [
        replace(s, parameters={**s.parameters, **extra[s.name]}) if s.name in extra else s
        for s in specs
    ]


def repo_target(repo: Path) -> Target:
    """The target ``repo``'s configs were written for (read from ``clip_image``'s config)."""
    path = Path(repo) / "clip_image" / "config.pbtxt"
    try:
        cfg = parse_config(path.read_text())
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}; run `stashtag repo build` first") from None
    except text_format.ParseError as exc:
        raise ValueError(f"{path}: not a config stashtag wrote ({exc})") from None
    if "torch_file" in cfg.parameters:
        return "python-torch"
    if "onnx_file" in cfg.parameters:
        return "python-ort"
    targets = {"tensorrt_plan": "tensorrt", "onnxruntime_onnx": "onnxruntime"}
    if cfg.platform in targets:
        return targets[cfg.platform]
    raise ValueError(f"{path}: not a config stashtag wrote (no known target)")


def save_build(repo: Path, preset: str, target: Target) -> Path:
    """Record what ``repo`` was built with, so later commands need no --preset or --target."""
    save_setting(repo, "preset", preset)
    return save_setting(repo, "target", target)


def built_preset(repo: Path) -> str | None:
    """The preset ``repo`` was built with: from its settings, else from ``tagger``'s model id
    (repositories built before the setting existed), else None."""
    name = read_settings(repo).get("preset")
    config = Path(repo) / "tagger" / "config.pbtxt"
    if name is None and config.is_file():
        try:
            model_id = parse_config(config.read_text()).parameters["model_id"].string_value
        except (text_format.ParseError, KeyError):
            model_id = ""
        name = model_id.rpartition("-")[0] or None
    if name is not None and name not in PRESETS:
        raise ValueError(f"{Path(repo) / SETTINGS_FILE}: preset: unknown preset {name!r}")
    return name


def built_target(repo: Path) -> Target | None:
    """The target ``repo`` was built for (settings, else its configs), or None if unbuilt."""
    saved = read_settings(repo).get("target")
    if saved is not None:
        if saved not in TARGETS:
            raise ValueError(f"{Path(repo) / SETTINGS_FILE}: target: unknown target {saved!r}")
        return saved
    if (Path(repo) / "clip_image" / "config.pbtxt").is_file():
        return repo_target(repo)
    return None


def resolve_build(
    repo: Path, preset: str | None, target: str | None, default_preset: str = "small"
) -> tuple[Preset, Target]:
    """Preset and target of an existing repository; a --preset or --target other than the one
    it was built with is refused (its weights and configs are for the other one)."""
    for flag, given, built in (
        ("preset", preset, built_preset(repo)),
        ("target", target, built_target(repo)),
    ):
        if given and built and given != built:
            raise ValueError(
                f"{repo} was built with --{flag} {built}, not {given}: drop --{flag}, or rebuild"
                f" it with `stashtag repo build --{flag} {given} --repo {repo}`"
            )
    return (
        get_preset(preset or built_preset(repo) or default_preset),
        target or built_target(repo) or "python-ort",
    )


def write_configs(repo: Path, specs: list[ModelSpec], target: Target) -> list[Path]:
    """Write every ``config.pbtxt`` and python-backend ``model.py``; return the files written."""
    resizing = [s.name for s in specs if "resize" in s.parameters]
    if resizing and target != "python-torch":
        raise ValueError(
            f"{repo}: {', '.join(resizing)} resize frames themselves (--device-resize), which"
            f" only the python-torch target does; rebuild with --target python-torch or"
            " --host-resize"
        )
    written = []
    for spec in specs:
        model_dir = Path(repo) / spec.name
        (model_dir / "1").mkdir(parents=True, exist_ok=True)
        config = model_dir / "config.pbtxt"
        config.write_text(render_config(spec, target))
        written.append(config)
        if uses_python(spec, target):
            shim = model_dir / "1" / "model.py"
            shim.write_text(SHIM.format(name=spec.name, module=shim_module(spec, target)))
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
            need.append(v / CLIP_MERGES_FILE)
        if spec.name == "ocr_rec":
            need.append(v / OCR_CHARSET_FILE)
        if not (Path(repo) / spec.name / "config.pbtxt").is_file():
            need.append(Path(repo) / spec.name / "config.pbtxt")
    return [str(p) for p in need if not p.exists()]
