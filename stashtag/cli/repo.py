"""``export`` and ``repo build|check``: model repositories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stashtag.cli.apps import app, repo_app
from stashtag.cli.options import (
    BUILT_HELP,
    DETECTOR_HELP,
    ONLY_HELP,
    TARGET_HELP,
    Fp16Opt,
    Int8Opt,
    PresetOpt,
    RandomOpt,
    RepoOpt,
)
from stashtag_client.cli.common import console, fail
from stashtag_core.errors import StashtagError
from stashtag_core.modelspec import TARGETS


def check_target(target: str) -> None:
    if target not in TARGETS:
        fail(ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}"))


def run_export(
    preset_name: str,
    repo: Path,
    random_weights: bool,
    only: str,
    target: str,
    fp16: bool = False,
    int8: bool = False,
) -> dict:
    from stashtag.repository import INT8_TARGETS
    from stashtag_core.presets import get_preset
    from stashtag_export.pipeline import EXPORTERS, export_all
    from stashtag_export.tensorrt import build_plans

    names = tuple(n.strip() for n in only.split(",") if n.strip()) if only else EXPORTERS
    if int8 and target not in INT8_TARGETS:
        raise ValueError(
            f"--int8 makes graphs for ONNX Runtime on the CPU; the {target} target runs"
            f" {'TorchScript' if target == 'python-torch' else 'TensorRT plans'}: drop --int8"
            " (or give --no-int8 where the repository was built with it)"
        )
    unknown = set(names) - set(EXPORTERS)
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; {ONLY_HELP}")
    results = export_all(
        get_preset(preset_name),
        repo,
        random_weights,
        names,
        log=console.print,
        fp16=fp16,
        torchscript=target == "python-torch",
        int8=int8,
    )
    if target == "tensorrt":
        build_plans(repo, log=lambda m: console.print(m))
    return results


@app.command()
def export(
    preset: Annotated[
        str, typer.Option(help="Model preset: small (CPU), large (GPU), tiny (tests).")
    ] = "small",
    repo: RepoOpt = Path("model_repository"),
    random_weights: RandomOpt = False,
    only: Annotated[str, typer.Option(help=ONLY_HELP)] = "",
    target: Annotated[
        str, typer.Option(help="tensorrt also builds fp16 plans; python-torch also TorchScript.")
    ] = "python-ort",
    fp16: Fp16Opt = False,
    int8: Int8Opt = False,
) -> None:
    """Export the preset's models to ONNX (with parity checks) into a repository."""
    from stashtag.repository import save_build

    check_target(target)
    try:
        results = run_export(preset, repo, random_weights, only, target, fp16, int8)
        save_build(repo, preset, target)
    except (StashtagError, ValueError, KeyError) as exc:
        fail(exc)
    console.print(f"[green]exported[/green] {', '.join(results)} into {repo}")


@repo_app.command("build")
def repo_build(
    preset: PresetOpt = None,
    target: Annotated[str | None, typer.Option(help=TARGET_HELP + BUILT_HELP)] = None,
    repo: Annotated[Path, typer.Option("--repo", help="Repository folder to write.")] = Path(
        "model_repository"
    ),
    instances: Annotated[int, typer.Option(help="Instances of each heavy model.")] = 1,
    export_models: Annotated[
        bool, typer.Option("--export/--no-export", help="Also export the weights.")
    ] = True,
    random_weights: RandomOpt = False,
    only: Annotated[str, typer.Option(help=ONLY_HELP)] = "",
    fp16: Fp16Opt = False,
    int8: Annotated[
        bool | None,
        typer.Option(
            "--int8/--no-int8",
            help="int8 weight matmuls in CLIP's image graph and DINOv2 (CPU: about 2x faster"
            " on AVX-512 VNNI), each checked vs fp32 and kept fp32 if under the parity"
            " threshold. Saved: later exports into this repository do the same.",
        ),
    ] = None,
    max_pixels: Annotated[
        int | None, typer.Option(help="Refuse images over this many pixels (default 40 M).")
    ] = None,
    max_frames: Annotated[
        int | None, typer.Option(help="Refuse requests with more frames (default 128).")
    ] = None,
    max_image_mb: Annotated[
        float | None, typer.Option(help="Refuse encoded images over this size (default 32).")
    ] = None,
    gpus: Annotated[
        str | None,
        typer.Option(
            help="GPUs for the graph models, e.g. 0,1 (instances on each); 'none' resets."
        ),
    ] = None,
    if_missing: Annotated[
        bool, typer.Option(help="Export only when weights are missing (containers on restart).")
    ] = False,
    device_resize: Annotated[
        bool | None,
        typer.Option(
            "--device-resize/--host-resize",
            help="python-torch: send each frame once at its own size and resize it in the graph"
            " models (on their GPU) instead of in preprocess on the CPU. Saved in the repository.",
        ),
    ] = None,
    detector: Annotated[list[str] | None, typer.Option(help=DETECTOR_HELP)] = None,
    no_detectors: Annotated[
        bool, typer.Option("--no-detectors", help="Drop every detector added by --detector.")
    ] = False,
    bucket_scale: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=16,
            help="Run YOLO and DINOv2 at about this many model pixels per frame pixel, from a"
            " small set of input sizes (default 2: a 160x90 sprite cell → YOLO at 320x192, not"
            " 640x640); 0 runs them at their native squares. Saved in the repository.",
        ),
    ] = None,
) -> None:
    """Write configs (from the model specs) and, unless --no-export, the weights.

    Request limits given here are saved in the repository and kept by later builds."""
    from dataclasses import replace

    from stashtag.repository import (
        buckets_in_use,
        built_preset,
        built_target,
        int8_models,
        missing_files,
        read_limits,
        save_bucket_scale,
        save_build,
        save_device_resize,
        save_gpus,
        save_int8,
        save_limits,
        saved_int8,
        specs_for,
        write_configs,
    )
    from stashtag_core.presets import get_preset

    try:  # a rebuild keeps what the repository was built with unless told otherwise
        preset = preset or built_preset(repo) or "small"
        target = target or built_target(repo) or "python-ort"
    except ValueError as exc:
        fail(exc)
    check_target(target)
    if device_resize and target != "python-torch":
        fail(StashtagError("--device-resize needs --target python-torch"))
    try:
        from stashtag.repo_detectors import parse_detector_flag

        added = [parse_detector_flag(f) for f in detector or []]  # refused before any export
        use_int8 = saved_int8(repo) if int8 is None else int8
        if int8 or (use_int8 and export_models):
            check_int8(repo, export_models, gpus, given=bool(int8))
        complete = not missing_files(repo, specs_for(repo, get_preset(preset)), target)
        if export_models and not (if_missing and complete):
            run_export(preset, repo, random_weights, only, target, fp16, use_int8)
        elif export_models:
            console.print(f"{repo} already has every file {target} needs: not exporting")
        build_detectors(repo, added, no_detectors, export_models)
        if int8 is not None:
            repo.mkdir(parents=True, exist_ok=True)
            save_int8(repo, int8)
        if device_resize is not None:
            repo.mkdir(parents=True, exist_ok=True)
            save_device_resize(repo, device_resize)
        if bucket_scale is not None:
            repo.mkdir(parents=True, exist_ok=True)
            save_bucket_scale(repo, bucket_scale)
        if gpus is not None:
            repo.mkdir(parents=True, exist_ok=True)
            ids = () if gpus.strip().lower() == "none" else _gpu_list(gpus)
            save_gpus(repo, ids)
        changes = {
            k: v
            for k, v in (
                ("max_pixels", max_pixels),
                ("max_frames", max_frames),
                ("max_encoded_bytes", int(max_image_mb * 2**20) if max_image_mb else None),
            )
            if v is not None
        }
        if changes:
            repo.mkdir(parents=True, exist_ok=True)
            save_limits(repo, replace(read_limits(repo), **changes))
        specs = specs_for(repo, get_preset(preset), instances, target=target)
        written = write_configs(repo, specs, target)
        scale, why_not = buckets_in_use(repo, target)
        save_build(repo, preset, target)
    except (StashtagError, ValueError, KeyError) as exc:
        fail(exc)
    console.print(f"wrote {len(written)} config/entry files for {len(specs)} models into {repo}")
    quantized = int8_models(repo)
    if quantized:
        console.print(f"int8 graphs (CPU): {', '.join(quantized)}")
    if why_not:
        console.print(f"[yellow]input-size buckets off:[/yellow] {why_not}")
    elif scale:
        console.print(f"YOLO and DINOv2 run at {scale:g}x the frames' resolution (--bucket-scale)")
    missing = missing_files(repo, specs, target)
    if missing:
        console.print("[yellow]still missing (run with --export):[/yellow] " + ", ".join(missing))


def check_int8(repo: Path, export_models: bool, gpus: str | None, given: bool = True) -> None:
    """Refuse int8 (``given`` on the command line, else saved) where it cannot take effect:
    without an export, or on GPUs (ONNX Runtime's CUDA provider has no int8 matmul kernels:
    those nodes would fall back to the CPU)."""
    from stashtag.repository import read_gpus

    if not export_models:
        raise StashtagError("--int8 rewrites the exported graphs: drop --no-export")
    drop = "drop --int8" if given else f"{repo} was built with --int8: add --no-int8"
    on_gpus = _gpu_list(gpus) if gpus and gpus.strip().lower() != "none" else ()
    if gpus is None:
        on_gpus = read_gpus(repo)
    if on_gpus:
        raise StashtagError(
            f"--int8 graphs run on the CPU, and {repo} runs its graph models on GPUs"
            f" {','.join(map(str, on_gpus))}: {drop}, or add --gpus none"
        )


def build_detectors(repo: Path, added: list, drop: bool, export_models: bool) -> None:
    """Apply --detector (``added``: parsed) and --no-detectors to the saved detectors; export
    the ones named and any saved one whose weights are missing (cheap: a copy of an ONNX file,
    checked), unless --no-export."""
    import shutil

    from stashtag.repo_detectors import export_detectors, read_detectors, save_detectors
    from stashtag_core.modelspec import ONNX_FILE

    previous = read_detectors(repo)
    names = {d.name for d, _ in added}
    keep = [(d, s) for d, s in ([] if drop else previous) if d.name not in names] + added
    if drop or added:
        for gone in {d.name for d, _ in previous} - {d.name for d, _ in keep}:
            for folder in (repo / gone, repo / f"{gone}_post"):
                if (folder / "config.pbtxt").is_file():
                    shutil.rmtree(folder)
        repo.mkdir(parents=True, exist_ok=True)
        save_detectors(repo, keep)
    missing = [(d, s) for d, s in keep if not (repo / d.name / "1" / ONNX_FILE).is_file()]
    todo = added + [m for m in missing if m[0].name not in names] if export_models else []
    if todo:
        export_detectors(repo, todo, log=console.print)


def _gpu_list(text: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(g) for g in text.split(",") if g.strip())
    except ValueError:
        raise StashtagError(f"--gpus {text!r}: give GPU numbers like 0,1 (or 'none')") from None
    if not ids or min(ids) < 0 or len(set(ids)) != len(ids):
        raise StashtagError(f"--gpus {text!r}: give distinct GPU numbers like 0,1")
    return ids


@repo_app.command("check")
def repo_check(
    repo: RepoOpt = Path("model_repository"),
    preset: PresetOpt = None,
    target: Annotated[str | None, typer.Option(help=TARGET_HELP + BUILT_HELP)] = None,
) -> None:
    """List files a repository still needs before Triton can serve it."""
    from stashtag.repository import missing_files, resolve_build, specs_for

    try:
        p, target = resolve_build(repo, preset, target)
        missing = missing_files(repo, specs_for(repo, p), target)
    except ValueError as exc:
        fail(exc)
    if missing:
        for m in missing:
            console.print(f"missing: {m}")
        raise typer.Exit(1)
    console.print(f"[green]{repo} is complete[/green]")
