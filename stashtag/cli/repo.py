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
from stashtag.repo import (
    BuildResult,
    BuildSpec,
    build_repository,
    missing_files,
    resolve_build,
    specs_for,
)
from stashtag_client.cli.common import console, fail
from stashtag_core.errors import StashtagError


def log(message: str) -> None:
    """Progress lines of a build (module level: a build in a child process pickles it)."""
    console.print(message)


def build_or_fail(spec: BuildSpec) -> BuildResult:
    """:func:`build_repository`, its refusals as one error line and exit code 1."""
    try:
        return build_repository(spec, log)
    except (StashtagError, ValueError, KeyError, OSError) as exc:
        fail(exc)


def build_in_child(spec: BuildSpec) -> BuildResult:
    """:func:`build_or_fail` in a fresh process, so torch and the exporters' memory are gone
    when it ends (``serve`` runs for weeks after its first build)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        try:
            return pool.submit(build_repository, spec, log).result()
        except (StashtagError, ValueError, KeyError, OSError) as exc:
            fail(exc)


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
    result = build_or_fail(
        BuildSpec(
            repo,
            preset,
            target,
            random_weights=random_weights,
            only=_names(only),
            fp16=fp16,
            int8=int8 or None,
            configs=False,
        )
    )
    console.print(f"[green]exported[/green] {', '.join(result.exported)} into {repo}")


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
    gpu_ids = None
    if gpus is not None:
        gpu_ids = () if gpus.strip().lower() == "none" else _gpu_list(gpus)
    result = build_or_fail(
        BuildSpec(
            repo,
            preset,
            target,
            instances=instances,
            export=export_models,
            if_missing=if_missing,
            random_weights=random_weights,
            only=_names(only),
            fp16=fp16,
            int8=int8,
            device_resize=device_resize,
            bucket_scale=bucket_scale,
            gpus=gpu_ids,
            max_pixels=max_pixels,
            max_frames=max_frames,
            max_encoded_bytes=int(max_image_mb * 2**20) if max_image_mb else None,
            detectors=tuple(detector or ()),
            no_detectors=no_detectors,
        )
    )
    report_build(result)


def report_build(result: BuildResult) -> None:
    """What a build wrote, what runs quantised or at which bucket scale, what is missing."""
    console.print(
        f"wrote {len(result.written)} config/entry files for {len(result.specs)} models"
        f" into {result.repo}"
    )
    if result.int8_models:
        console.print(f"int8 graphs (CPU): {', '.join(result.int8_models)}")
    if result.buckets_off:
        console.print(f"[yellow]input-size buckets off:[/yellow] {result.buckets_off}")
    elif result.bucket_scale:
        console.print(
            f"YOLO and DINOv2 run at {result.bucket_scale:g}x the frames' resolution"
            " (--bucket-scale)"
        )
    if result.missing:
        console.print(
            "[yellow]still missing (run with --export):[/yellow] " + ", ".join(result.missing)
        )


def _names(only: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in only.split(",") if n.strip())


def _gpu_list(text: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(g) for g in text.split(",") if g.strip())
    except ValueError:
        fail(StashtagError(f"--gpus {text!r}: give GPU numbers like 0,1 (or 'none')"))
    if not ids or min(ids) < 0 or len(set(ids)) != len(ids):
        fail(StashtagError(f"--gpus {text!r}: give distinct GPU numbers like 0,1"))
    return ids


@repo_app.command("check")
def repo_check(
    repo: RepoOpt = Path("model_repository"),
    preset: PresetOpt = None,
    target: Annotated[str | None, typer.Option(help=TARGET_HELP + BUILT_HELP)] = None,
) -> None:
    """List files a repository still needs before Triton can serve it."""
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
