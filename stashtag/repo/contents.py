"""What a repository holds and needs: its model specs (the preset's, completed from the
exports and the settings), configs and python-backend entries, and the files still missing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from google.protobuf import text_format

from stashtag.repo.config_text import config_parameters, parse_config, render_config, shim_module
from stashtag.repo.detectors import detector_metas, sized_by_export
from stashtag.repo.settings import SETTINGS_FILE, RepoSettings
from stashtag.repo.targets import TARGET_OPTIONS
from stashtag_core.modelspec import (
    CLIP_MERGES_FILE,
    META_FILE,
    OCR_CHARSET_FILE,
    PYTHON_TARGETS,
    TAGGER,
    Detector,
    ModelSpec,
    Target,
    build_specs,
    spec_by_name,
    weights_file,
    with_device_resize,
)
from stashtag_core.modelspec.param_codec import format_sizes
from stashtag_core.modelspec.params import (
    DeviceResize,
    PreprocessParams,
    TaggerParams,
    TextEncoderParams,
    with_params,
)
from stashtag_core.presets import PRESETS, Preset, get_preset

SHIM = '''"""Triton python-backend entry of model `{name}`.

The code lives in {module}.
"""

from {module} import TritonPythonModel  # noqa: F401
'''


def uses_python(spec: ModelSpec, target: Target) -> bool:
    return spec.kind == "python" or (spec.kind == "onnx" and target in PYTHON_TARGETS)


def buckets_in_use(
    repo: Path, target: Target | None = None, settings: RepoSettings | None = None
) -> tuple[float, str]:
    """The bucket scale the configs use and, when it is 0 against the saved setting, why:
    the target runs one size (:data:`~stashtag.repo.targets.TARGET_OPTIONS`), ``--device-resize``
    resizes in the graphs, or graphs were exported before buckets existed."""
    settings = settings or RepoSettings.load(repo)
    scale = settings.bucket_scale
    target = target or built_target(repo, settings)
    if scale == 0:
        return 0.0, ""
    if target and TARGET_OPTIONS[target].buckets:
        return 0.0, TARGET_OPTIONS[target].buckets
    if settings.device_resize:
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
    settings: RepoSettings | None = None,
) -> list[ModelSpec]:
    """The preset's specs plus the repository's saved detectors (or ``detectors``), with what
    is only known after export filled in: CLIP's logit scale, a ``model_id`` on ``tagger`` that
    changes whenever any exported weights change (clients key their embedding stores by it),
    the input-size buckets the exports allow (:func:`buckets_in_use`; ``target``: the one being
    built, else the built one; ``bucket_scale`` overrides it) and the repository's saved limits
    and tuning (which wins over ``instances``)."""
    settings = settings or RepoSettings.load(repo)
    detectors = sized_by_export(repo, settings.detector_specs if detectors is None else detectors)
    scale_used = buckets_in_use(repo, target, settings)[0] if bucket_scale is None else bucket_scale
    specs = build_specs(preset, instances, settings.limits, detectors, scale_used)
    if settings.tuning:
        specs = settings.tuning.apply(specs)
    if settings.device_resize:
        specs = with_device_resize(specs)
    if settings.gpus:
        specs = [replace(s, gpus=settings.gpus) if s.kind == "onnx" else s for s in specs]
    metas = {m: Path(repo) / m / "1" / META_FILE for m in ("clip_image", "yolo", "dinov2")}
    metas |= detector_metas(repo, detectors)
    if not all(p.is_file() for p in metas.values()):
        return specs
    texts = {m: p.read_text() for m, p in metas.items()}
    scale = json.loads(texts["clip_image"]).get("logit_scale")
    if scale_used:  # DINOv2 embeds a frame differently per bucket: stores keyed apart
        pre = PreprocessParams.decode(spec_by_name(specs, "preprocess").parameters)
        texts["~buckets"] = format_sizes(pre.dino_buckets or ())
    digest = hashlib.sha256("".join(texts[m] for m in sorted(texts)).encode()).hexdigest()[:12]
    out = []
    for s in specs:
        if s.name == "clip_text_encoder" and scale is not None:
            s = with_params(s, TextEncoderParams, logit_scale=scale)
        elif s.name == TAGGER.model:
            s = with_params(s, TaggerParams, model_id=f"{preset.name}-{digest}")
        out.append(s)
    return out


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
    targets: dict[str, Target] = {"tensorrt_plan": "tensorrt", "onnxruntime_onnx": "onnxruntime"}
    if cfg.platform in targets:
        return targets[cfg.platform]
    raise ValueError(f"{path}: not a config stashtag wrote (no known target)")


def built_preset(repo: Path, settings: RepoSettings | None = None) -> str | None:
    """The preset ``repo`` was built with: from its settings, else from ``tagger``'s model id
    (repositories built before the setting existed), else None."""
    name = (settings or RepoSettings.load(repo)).preset
    config = Path(repo) / "tagger" / "config.pbtxt"
    if name is None and config.is_file():
        try:
            params = config_parameters(parse_config(config.read_text()))
            model_id = TaggerParams.decode(params).model_id
        except (text_format.ParseError, ValueError):
            model_id = ""
        name = model_id.rpartition("-")[0] or None
    if name is not None and name not in PRESETS:
        raise ValueError(f"{Path(repo) / SETTINGS_FILE}: preset: unknown preset {name!r}")
    return name


def built_target(repo: Path, settings: RepoSettings | None = None) -> Target | None:
    """The target ``repo`` was built for (settings, else its configs), or None if unbuilt."""
    saved = (settings or RepoSettings.load(repo)).target
    if saved is not None:
        return saved
    if (Path(repo) / "clip_image" / "config.pbtxt").is_file():
        return repo_target(repo)
    return None


def resolve_build(
    repo: Path,
    preset: str | None,
    target: str | None,
    default_preset: str = "small",
    settings: RepoSettings | None = None,
) -> tuple[Preset, Target]:
    """Preset and target of an existing repository; a --preset or --target other than the one
    it was built with is refused (its weights and configs are for the other one)."""
    settings = settings or RepoSettings.load(repo)
    built = {"preset": built_preset(repo, settings), "target": built_target(repo, settings)}
    for flag, given in (("preset", preset), ("target", target)):
        if given and built[flag] and given != built[flag]:
            raise ValueError(
                f"{repo} was built with --{flag} {built[flag]}, not {given}: drop --{flag}, or"
                f" rebuild it with `stashtag repo build --{flag} {given} --repo {repo}`"
            )
    return (
        get_preset(preset or built["preset"] or default_preset),
        target or built["target"] or "python-ort",  # type: ignore[return-value]
    )


def write_configs(repo: Path, specs: list[ModelSpec], target: Target) -> list[Path]:
    """Write every ``config.pbtxt`` and python-backend ``model.py``; return the files written."""
    resizing = [s.name for s in specs if DeviceResize.decode(s.parameters).resize]
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
