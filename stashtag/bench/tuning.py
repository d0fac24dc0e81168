"""`stashtag bench --tune`: choose dynamic-batching delay, batch sizes and instance counts by
measuring, then write the winner into the repository's configs.

The search changes one setting at a time from the current one (coordinate descent) and keeps
a change only when it beats the incumbent by more than the noise margin, so a noisy machine
does not flip settings on chance.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from stashtag.bench.measure import Request
from stashtag.bench.triton_runs import derived_repo, triton_sample
from stashtag_core.modelspec import MAX_FRAMES_PER_REQUEST, Tuning
from stashtag_core.presets import Preset

NOISE_MARGIN = 0.03  # a candidate must be this much faster to replace the incumbent


@dataclass
class TuneResult:
    start: dict
    chosen: dict
    start_fps: float
    chosen_fps: float
    concurrency: int
    trials: list[dict] = field(default_factory=list)  # {"settings", "fps"} in the order tried
    written: list[str] = field(default_factory=list)


def candidate_axes(frames_per_request: int) -> dict[str, list]:
    """The values tried for each setting. Preferred sizes are whole requests (a sprite is
    already a batch, so splitting one across executions only adds overhead)."""
    two = 2 * frames_per_request
    return {
        "max_queue_delay_us": [500, 2000, 10_000],
        "instances": [1, 2],
        "max_batch_size": sorted({MAX_FRAMES_PER_REQUEST, max(two, MAX_FRAMES_PER_REQUEST)}),
        "preferred": [(), (16, 32, 64)],
    }


def _measure(
    repo: Path,
    preset: Preset,
    tuning: Tuning,
    requests: list[Request],
    concurrency: int,
    repeats: int,
) -> float:
    from stashtag.repo import RepoSettings
    from stashtag.server import ServerOptions, TritonServer, free_port

    # the detectors' work is part of a request
    names = tuple(d.name for d in RepoSettings.load(repo).detector_specs)
    with tempfile.TemporaryDirectory() as tmp:
        trial = derived_repo(repo, Path(tmp) / "repo", preset, tuning.apply)
        opts = ServerOptions(
            trial, free_port(), free_port(), free_port(), log_file=Path(tmp) / "triton.log"
        )
        with TritonServer(opts):
            triton_sample(opts.grpc_url, requests[:2], 2, detectors=names)  # warm-up
            return statistics.median(
                triton_sample(opts.grpc_url, requests, concurrency, detectors=names).fps
                for _ in range(repeats)
            )


def tune(
    repo: Path,
    preset: Preset,
    requests: list[Request],
    concurrency: int,
    repeats: int = 1,
    axes: dict[str, list] | None = None,
    write: bool = True,
    log: Callable[[str], None] = print,
) -> TuneResult:
    """Search the settings of the frame models and (unless ``write`` is False) save the best
    in ``repo``'s settings (``tuning``) and regenerate its configs."""
    from stashtag.repo import BuildSpec, RepoSettings, build_repository, repo_target

    frames_per_request = max(len(r[1]) for r in requests)
    axes = axes or candidate_axes(frames_per_request)
    start = RepoSettings.load(repo).tuning or Tuning()
    target = repo_target(repo)  # checked before the trials, which take minutes
    trials: list[dict] = []

    def measure(t: Tuning) -> float:
        fps = round(_measure(repo, preset, t, requests, concurrency, repeats), 2)
        trials.append({"settings": _plain(t), "fps": fps})
        log(f"tune: {_plain(t)} → {fps} frames/s")
        return fps

    best, best_fps = start, measure(start)
    start_fps = best_fps
    for axis, values in axes.items():
        for value in values:
            if getattr(best, axis) == value:
                continue
            try:
                candidate = replace(best, **{axis: value})
            except ValueError:  # e.g. preferred sizes above this max batch size
                continue
            fps = measure(candidate)
            if fps > best_fps * (1 + NOISE_MARGIN):
                best, best_fps = candidate, fps
    written: list[str] = []
    if write:
        written.append(str(RepoSettings.load(repo).but(tuning=best).save(repo)))
        built = build_repository(BuildSpec(repo, preset.name, target, export=False), log)
        written += [str(p) for p in built.written]
    return TuneResult(
        _plain(start), _plain(best), start_fps, best_fps, concurrency, trials, written
    )


def _plain(t: Tuning) -> dict:
    d = asdict(t)
    d["preferred"] = list(d["preferred"])
    return d
