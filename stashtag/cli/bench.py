"""``bench``: the pipeline against baselines in one run."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from stashtag.cli.apps import app
from stashtag.cli.options import PresetOpt
from stashtag_client.cli.common import console, fail
from stashtag_core.errors import StashtagError


@app.command()
def bench(
    repo: Annotated[Path, typer.Option(help="Exported repository to benchmark.")] = Path(
        "repos/tiny-python-ort"
    ),
    preset: PresetOpt = None,
    sprites: Annotated[int, typer.Option(help="Sprite sheets per variant and round.")] = 8,
    grid: Annotated[int, typer.Option(help="Sprite grid: 9 gives Stash's 81 frames.")] = 9,
    repeats: Annotated[int, typer.Option(help="Interleaved rounds.")] = 3,
    sweep: Annotated[str, typer.Option(help="In-flight requests to sweep.")] = "1,2,4,8,16",
    eager: Annotated[bool, typer.Option("--eager/--no-eager", help="Eager PyTorch baseline.")] = (
        True
    ),
    frame_requests: Annotated[
        int, typer.Option(help="Single-frame requests per round (0: skip that variant).")
    ] = 81,
    clients: Annotated[
        int, typer.Option(help="Client processes at once for the fairness run (0: skip).")
    ] = 4,
    client_concurrency: Annotated[int, typer.Option(help="In flight per client there.")] = 4,
    client_loops: Annotated[
        int, typer.Option(help="Passes over the sprites each client makes there.")
    ] = 3,
    null_loops: Annotated[
        int, typer.Option(help="Passes over the sprites against a trivial model (0: skip).")
    ] = 20,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune",
            help="Also search batching delay, batch sizes and instances; write the best into"
            " REPO (its settings + configs).",
        ),
    ] = False,
    tune_repeats: Annotated[int, typer.Option(help="Runs per tuning trial (median).")] = 2,
    device: Annotated[
        str,
        typer.Option(
            help="Where the in-process baselines run: auto (a GPU when PyTorch sees one), cpu,"
            " cuda. The server runs where the repository's configs say (repo build --gpus)."
        ),
    ] = "auto",
    compare: Annotated[
        Path | None, typer.Option(help="An earlier bench.json: report the change against it.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for bench.json, bench.md and plots.")] = Path(
        "runs/bench"
    ),
    flops_only: Annotated[
        bool,
        typer.Option(
            "--flops-only",
            help="Only count each frame model's work per tagged frame in today's configuration,"
            " with input-size buckets and with buckets + frame budgets (no timing; any preset,"
            " e.g. large on a CPU machine).",
        ),
    ] = False,
) -> None:
    """Measure the pipeline against baselines (eager PyTorch, ORT, Triton ±batching, several
    clients, the client alone) in one run; a repository with extra detectors also gets each
    detector alone and the tagger without them (what they cost per frame); every run reports
    each model's operations per frame and its share of this machine's matmul peak."""

    from stashtag.bench import compare as compare_reports
    from stashtag.bench import run_bench, to_markdown, write_report
    from stashtag.repo import missing_files, resolve_build, specs_for

    try:
        previous = None
        if compare is not None:
            try:
                previous = json.loads(compare.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise StashtagError(f"--compare {compare}: {exc}") from None
        p, target = resolve_build(repo, preset, None, default_preset="tiny")
        missing = missing_files(repo, specs_for(repo, p), target)
        if missing:
            raise StashtagError(
                f"{repo} is incomplete ({missing[0]} …): run `stashtag repo build"
                f" --preset {p.name} --target {target} --out {repo}` first"
            )
        if flops_only:
            _print_flops(repo, p)
            return
        points = tuple(int(c) for c in sweep.split(",") if c.strip())
        if not points or min(points) < 1:
            raise StashtagError(f"--sweep {sweep!r}: give in-flight counts ≥ 1, e.g. 1,4,16")
        report = run_bench(
            repo,
            p,
            sprites,
            repeats,
            points,
            eager,
            log=console.print,
            grid=grid,
            frame_limit=frame_requests,
            clients=clients,
            client_concurrency=client_concurrency,
            client_loops=client_loops,
            null_loops=null_loops,
            tune=tune,
            tune_repeats=tune_repeats,
            device=device,
        )
    except (StashtagError, ValueError) as exc:
        fail(exc)
    paths = write_report(report, out, previous)
    typer.echo(to_markdown(report))
    if previous is not None:
        typer.echo(compare_reports(previous, report))
    console.print("wrote " + ", ".join(str(p) for p in paths))


def _print_flops(repo: Path, preset) -> None:
    from stashtag.bench.compute import configuration_flops
    from stashtag.bench.compute_markdown import configuration_lines
    from stashtag.repo import RepoSettings, buckets_in_use
    from stashtag_client.inference.budget import FrameBudget

    scale, why_not = buckets_in_use(repo, "python-ort")
    if not scale and why_not:
        raise StashtagError(f"{repo}: {why_not}")
    budget = FrameBudget.default(d.name for d in RepoSettings.load(repo).detector_specs)
    typer.echo("\n".join(configuration_lines(asdict(configuration_flops(repo, preset, budget)))))
