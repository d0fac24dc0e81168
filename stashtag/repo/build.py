"""The one way a repository is built: :func:`build_repository` of a :class:`BuildSpec`.

``repo build``, ``export``, ``serve`` (first start), ``demo``, the bench's derived repositories
and the tests' repository all describe what they want as a ``BuildSpec``; this module checks it
against the target's options (:mod:`stashtag.repo.targets`), exports what is missing, saves the
settings once and writes the configs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from stashtag.repo.contents import (
    buckets_in_use,
    built_preset,
    built_target,
    int8_models,
    missing_files,
    repo_target,
    specs_for,
    write_configs,
)
from stashtag.repo.detectors import parse_detector_flag
from stashtag.repo.settings import RepoSettings, SavedDetector
from stashtag.repo.targets import check_target, refusals
from stashtag_core.errors import StashtagError
from stashtag_core.modelspec import ONNX_FILE, ModelSpec, Target
from stashtag_core.presets import Preset, get_preset

EXPORTABLE = ("clip", "yolo", "dinov2", "ocr")  # the --only names (stashtag_export.pipeline)
Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildSpec:
    """What to build. ``None`` keeps what the repository was built with (its settings)."""

    repo: Path
    preset: str | None = None  # None: as built, else small
    target: str | None = None  # None: as built, else python-ort
    instances: int = 1
    export: bool = True  # export weights (False: configs only)
    if_missing: bool = False  # export only when some weights are missing
    random_weights: bool = False
    only: tuple[str, ...] = ()  # a subset of EXPORTABLE ("": all)
    fp16: bool = False
    int8: bool | None = None
    device_resize: bool | None = None
    bucket_scale: float | None = None
    gpus: tuple[int, ...] | None = None  # (): back to the default devices
    max_pixels: int | None = None
    max_frames: int | None = None
    max_encoded_bytes: int | None = None
    detectors: tuple[str, ...] = ()  # --detector values to add
    no_detectors: bool = False  # drop the saved ones (those in `detectors` are still added)
    torchscript: bool = False  # also trace TorchScript, for a python-torch copy later
    configs: bool = True  # write configs (False: `stashtag export`, weights only)
    weights_from: Path | None = None  # link another repository's weights instead of exporting
    adjust: Callable[[list[ModelSpec]], list[ModelSpec]] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BuildResult:
    repo: Path
    preset: str
    target: Target
    specs: list[ModelSpec]
    written: list[Path]
    exported: dict[str, dict]
    missing: list[str]
    bucket_scale: float
    buckets_off: str  # why input-size buckets are off ("" when on or not asked)
    int8_models: list[str]


def build_repository(spec: BuildSpec, log: Log = print) -> BuildResult:
    """Build ``spec.repo`` as ``spec`` says; a request the target cannot honour is refused
    (``ValueError``/``StashtagError`` naming the flag and why) before anything is written."""
    repo = Path(spec.repo)
    source = Path(spec.weights_from) if spec.weights_from else repo
    saved = RepoSettings.load(source)
    preset = get_preset(spec.preset or built_preset(source, saved) or "small")
    target = check_target(
        spec.target
        or (repo_target(source) if spec.weights_from else built_target(repo, saved))
        or "python-ort"
    )
    added = [parse_detector_flag(d) for d in spec.detectors]
    settings = _settings(spec, saved, added, preset.name, target)
    exporting = spec.export and not spec.weights_from
    _check(spec, settings, target, exporting, saved)

    exported: dict[str, dict] = {}
    if exporting and spec.if_missing and _complete(repo, preset, target, settings):
        log(f"{repo} already has every file {target} needs: not exporting")
    elif exporting:
        exported = _export(spec, repo, preset.name, target, settings.int8, log)
    if spec.configs and not spec.weights_from:
        exported |= _apply_detectors(repo, saved, settings, added, exporting, log)
    # a derived repository's specs are its source's (whose exports it links)
    specs = specs_for(source, preset, spec.instances, target=target, settings=settings)
    if spec.adjust:
        specs = spec.adjust(specs)
    if spec.weights_from:  # only the models kept: Triton loads every folder it finds
        _link_weights(source, repo, specs)
    settings.save(repo)
    written = write_configs(repo, specs, target) if spec.configs else []
    scale, why_not = buckets_in_use(repo, target, settings)
    return BuildResult(
        repo=repo,
        preset=preset.name,
        target=target,
        specs=specs,
        written=written,
        exported=exported,
        missing=missing_files(repo, specs, target) if spec.configs else [],
        bucket_scale=scale,
        buckets_off=why_not,
        int8_models=int8_models(repo),
    )


def _complete(repo: Path, preset: Preset, target: Target, settings: RepoSettings) -> bool:
    """Whether ``repo`` holds every file of the preset's models (detectors export apart)."""
    main = specs_for(repo, preset, detectors=(), target=target, settings=settings)
    return not missing_files(repo, main, target)


def _settings(
    spec: BuildSpec, saved: RepoSettings, added: list[SavedDetector], preset: str, target: Target
) -> RepoSettings:
    names = {d.detector.name for d in added}
    kept = [
        d for d in ([] if spec.no_detectors else saved.detectors) if d.detector.name not in names
    ]
    limits = replace(
        saved.limits,
        **{
            k: v
            for k, v in (
                ("max_pixels", spec.max_pixels),
                ("max_frames", spec.max_frames),
                ("max_encoded_bytes", spec.max_encoded_bytes),
            )
            if v is not None
        },
    )
    return saved.but(
        preset=preset,
        target=target,
        limits=limits,
        int8=spec.int8,
        device_resize=spec.device_resize,
        bucket_scale=spec.bucket_scale,
        gpus=spec.gpus,
        detectors=tuple(kept + added),
    )


def _check(
    spec: BuildSpec, settings: RepoSettings, target: Target, exporting: bool, saved: RepoSettings
) -> None:
    """Refuse what cannot take effect, naming the flag: the target's table first."""
    problems = refusals(
        target,
        {
            "int8": bool(spec.int8) or (settings.int8 and exporting),
            "fp16": spec.fp16,
            "device_resize": bool(spec.device_resize),
            "buckets": bool(spec.bucket_scale),
            "detectors": bool(spec.detectors),
            "gpus": bool(spec.gpus),
        },
    )
    if problems:
        if not spec.int8 and settings.int8 and any(p.startswith("--int8") for p in problems):
            problems.append(f"{spec.repo} was built with --int8: add --no-int8")
        raise StashtagError("; ".join(problems))
    unknown = set(spec.only) - set(EXPORTABLE)
    if unknown:
        raise ValueError(
            f"unknown models {sorted(unknown)}; give a subset of {','.join(EXPORTABLE)}"
        )
    if not settings.int8 or not (spec.int8 or exporting):
        return
    drop = "drop --int8" if spec.int8 else f"{spec.repo} was built with --int8: add --no-int8"
    if not exporting:
        raise StashtagError("--int8 rewrites the exported graphs: drop --no-export")
    if spec.fp16 or spec.torchscript:
        raise StashtagError(f"int8 graphs are for ONNX Runtime on the CPU, not with fp16: {drop}")
    if settings.gpus:
        raise StashtagError(
            f"--int8 graphs run on the CPU, and {spec.repo} runs its graph models on GPUs"
            f" {','.join(map(str, settings.gpus))}: {drop}, or add --gpus none"
        )


def _export(spec: BuildSpec, repo: Path, preset: str, target: Target, int8: bool, log: Log) -> dict:
    from stashtag_export.pipeline import export_all
    from stashtag_export.tensorrt import build_plans

    results = export_all(
        get_preset(preset),
        repo,
        spec.random_weights,
        spec.only or EXPORTABLE,
        log=log,
        fp16=spec.fp16,
        torchscript=target == "python-torch" or spec.torchscript,
        int8=int8,
    )
    if target == "tensorrt":
        build_plans(repo, log=log)
    return results


def _apply_detectors(
    repo: Path,
    saved: RepoSettings,
    settings: RepoSettings,
    added: list[SavedDetector],
    exporting: bool,
    log: Log,
) -> dict:
    """Remove the models of dropped detectors; export the ones added and any kept one whose
    weights are missing (cheap: a checked copy of an ONNX file)."""
    import shutil

    from stashtag.repo.detectors import export_detectors

    keep = {d.detector.name for d in settings.detectors}
    for gone in {d.detector.name for d in saved.detectors} - keep:
        for folder in (repo / gone, repo / f"{gone}_post"):
            if (folder / "config.pbtxt").is_file():
                shutil.rmtree(folder)
    if not exporting:
        return {}
    names = {d.detector.name for d in added}
    missing = [
        d
        for d in settings.detectors
        if d.detector.name not in names and not (repo / d.detector.name / "1" / ONNX_FILE).is_file()
    ]
    todo = added + missing
    return export_detectors(repo, todo, log=log) if todo else {}


def _link_weights(src: Path, dst: Path, specs: list[ModelSpec]) -> None:
    """Link (not copy) each model's version files of ``src`` into ``dst``; entries are rewritten."""
    names = {s.name for s in specs}
    for model_dir in src.iterdir():
        if model_dir.name not in names or not (model_dir / "1").is_dir():
            continue
        (dst / model_dir.name / "1").mkdir(parents=True, exist_ok=True)
        for f in (model_dir / "1").iterdir():
            link = dst / model_dir.name / "1" / f.name
            if f.name != "model.py" and not os.path.lexists(link):
                link.symlink_to(f.resolve())
