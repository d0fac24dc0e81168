"""One benchmark run: every variant on the same frames, interleaved and repeated.

1. eager PyTorch, one frame at a time (what existing Stash taggers do);
2. ONNX Runtime in-process, one sprite (81 frames) per batch;
3. Triton without dynamic batching, one request at a time;
4. Triton with dynamic batching over a concurrency sweep — with sprite requests, and with
   per-frame requests (single images, hook-triggered frames), where merging matters most;
5. K client processes on one server: aggregate rate and each client's share;
6. the client alone against a trivial server model: client CPU per frame and its ceiling;
7. with extra detectors (``repo build --detector``): each alone on its own model, and the
   tagger without them, so what they add per frame is known;
8. the limit: the machine's fp32 matmul peak, each graph model's operations per item and the
   rate it achieved while computing (one more pass at the best setting, read from Triton's
   statistics), so "close to the limit" is a number;
9. today's configuration (native squares, every model on every frame, fp32) against the
   input-size buckets, the buckets with per-model frame budgets, and those with CLIP's image
   graph and DINOv2 in int8 (quantised for the run), interleaved at the best concurrency.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from stashtag.bench import report as rep
from stashtag.bench.baselines import (
    eager_torch_runner,
    ort_runner,
    resolve_device,
    time_inprocess,
)
from stashtag.bench.compute import (
    compute_report,
    compute_stats,
    configuration_flops,
    model_flops,
)
from stashtag.bench.detectors import alone_name, detector_calls, detector_costs, without_name
from stashtag.bench.measure import (
    Sample,
    bench_sprites,
    bytes_per_frame,
    frame_requests,
    summarize,
    with_gpu_usage,
)
from stashtag.bench.targets import targets
from stashtag.bench.triton_runs import (
    calls_sample,
    derived_repo,
    null_tagger,
    several_clients,
    tagger_call,
    triton_sample,
    without_dynamic_batching,
)
from stashtag.procstat import PeakMemory, tree_cpu_seconds
from stashtag_core.modelspec import META_FILE
from stashtag_core.presets import Preset


def run_bench(
    repo: Path,
    preset: Preset,
    sprites: int = 8,
    repeats: int = 3,
    sweep: tuple[int, ...] = (1, 2, 4, 8, 16),
    eager: bool = True,
    log: Callable[[str], None] = print,
    grid: int = 9,
    frame_limit: int = 81,
    clients: int = 4,
    client_concurrency: int = 4,
    null_loops: int = 20,
    tune: bool = False,
    tune_repeats: int = 2,
    client_loops: int = 1,
    device: str = "cpu",
) -> rep.BenchReport:
    """Measure every variant ``repeats`` times, interleaved, on the same sprites.

    ``frame_limit`` single-frame requests (0: skip), ``clients`` processes at once (0 or 1:
    skip; each sends the sprites ``client_loops`` times over), the trivial-model run sent
    ``null_loops`` times over (0: skip), and with ``tune`` the settings search of
    :mod:`stashtag.bench.tuning` (``tune_repeats`` runs per trial), written into ``repo``.
    ``device`` (auto, cpu, cuda) is where the in-process baselines run; the server runs where
    ``repo``'s configs say (``repo build --gpus``).
    """
    from stashtag.bench.flops import cuda_matmul_peak_gflops, matmul_peak_gflops
    from stashtag.repo import RepoSettings, buckets_in_use, repo_target, specs_for
    from stashtag.server import ServerOptions, TritonServer, free_port
    from stashtag_client.inference.budget import FrameBudget

    device = resolve_device(device)
    # before any server computes; a repository whose graphs run on the GPU is compared with it
    on_gpu = device.startswith("cuda") and (
        repo_target(repo) in ("python-torch", "tensorrt") or bool(RepoSettings.load(repo).gpus)
    )
    peak = cuda_matmul_peak_gflops() if on_gpu else matmul_peak_gflops()
    flops = model_flops(repo, specs_for(repo, preset))

    data = bench_sprites(sprites, grid)
    detectors = RepoSettings.load(repo).detector_specs
    names = tuple(d.name for d in detectors)  # the tagger answers with theirs, as for the client
    alone = {d.name: detector_calls(data, d) for d in detectors}
    frames = frame_requests(data, frame_limit) if frame_limit else []
    sprite_calls = [tagger_call(r, names) for r in data]
    frame_calls = [tagger_call(r, names) for r in frames]
    samples: dict[str, list[Sample]] = {}
    concurrency: dict[str, int] = {}
    runners: dict[str, Callable] = {rep.ORT: ort_runner(repo, preset, device)}
    if eager:
        runners[rep.EAGER] = eager_torch_runner(preset, device, repo)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)

        def options(path: Path, name: str) -> ServerOptions:
            return ServerOptions(
                path, free_port(), free_port(), free_port(), log_file=tmp_path / f"{name}.log"
            )

        batching = options(repo, "batching")
        plain = options(
            derived_repo(repo, tmp_path / "plain", preset, without_dynamic_batching), "plain"
        )
        null = options(derived_repo(repo, tmp_path / "null", preset, null_tagger), "null")
        with TritonServer(batching) as srv, TritonServer(plain) as plain_srv:

            def measure(name, server, url: str, calls, c: int, batched="clip_image") -> None:
                sample = _server_sample(server, url, calls, c, batched=batched)
                samples.setdefault(name, []).append(sample)
                concurrency[name] = c

            for run in runners.values():  # warm-up
                run(data[0])
            triton_sample(batching.grpc_url, data[:2], 2, detectors=names)
            triton_sample(plain.grpc_url, data[:1], 1, detectors=names)
            # the batching server's memory over every run it serves
            memory = PeakMemory(srv.process.pid).start()
            for r in range(repeats):
                log(f"round {r + 1}/{repeats}")
                for name, run in runners.items():
                    sample = with_gpu_usage(lambda run=run: time_inprocess(run, data))
                    samples.setdefault(name, []).append(sample)
                measure(rep.PLAIN, plain_srv, plain.grpc_url, sprite_calls, 1)
                for c in sweep:
                    measure(rep.dynamic(c), srv, batching.grpc_url, sprite_calls, c)
                if frames:
                    measure(rep.PLAIN_FRAMES, plain_srv, plain.grpc_url, frame_calls, 1)
                    c = max(sweep)
                    measure(rep.dynamic_frames(c), srv, batching.grpc_url, frame_calls, c)
                for name, calls in alone.items():
                    c = max(sweep)
                    measure(alone_name(name, c), srv, batching.grpc_url, calls, c, batched=name)
            variants = [summarize(n, s, concurrency.get(n)) for n, s in samples.items()]
            best = rep.best_dynamic(variants)
            log("a pass at the best setting with the server's compute statistics")
            before = compute_stats(batching.grpc_url, list(flops))
            final = triton_sample(
                batching.grpc_url, data, best.concurrency or max(sweep), detectors=names
            )
            compute = compute_report(
                (peak, "cuda fp32 (TF32 off)" if on_gpu else "cpu fp32, ONNX Runtime"),
                flops,
                before,
                compute_stats(batching.grpc_url, list(flops)),
                final.frames,
                final.fps,
            )
            # The baselines are done: give their memory back before more processes start
            # (the in-process models and the second server hold ~10 GB with `small`).
            runners.clear()
            gc.collect()
            plain_srv.stop()
            if detectors:
                log("the tagger without the extra detectors")
                c = best.concurrency or max(sweep)
                bare = options(
                    derived_repo(repo, tmp_path / "bare", preset, lambda s: s, no_detectors=True),
                    "bare",
                )
                with TritonServer(bare) as bare_srv:
                    triton_sample(bare.grpc_url, data[:2], 2)  # warm-up
                    calls = [tagger_call(r) for r in data]  # no detectors to ask for
                    for _ in range(repeats):
                        measure(without_name(c), bare_srv, bare.grpc_url, calls, c)
                variants.append(summarize(without_name(c), samples[without_name(c)], c))
            scale, why_not = buckets_in_use(repo)
            frame_budget = configurations = None
            int8, int8_note = None, ""
            if scale:
                c = best.concurrency or max(sweep)
                budget = FrameBudget.default(names)
                int8, int8_note = _int8_variant(repo, tmp_path / "int8", preset, log)
                log("today's configuration against buckets, frame budgets and int8, interleaved")
                native = options(
                    derived_repo(repo, tmp_path / "native", preset, lambda s: s, bucket_scale=0),
                    "native",
                )
                budget_calls = [tagger_call(r, names, budget) for r in data]
                with contextlib.ExitStack() as stack:
                    native_srv = stack.enter_context(TritonServer(native))
                    triton_sample(native.grpc_url, data[:2], 2, detectors=names)  # warm-up
                    runs = [
                        (rep.sizes(rep.SIZES_NATIVE, c), native_srv, native.grpc_url, sprite_calls),
                        (rep.sizes(rep.SIZES_BUCKETS, c), srv, batching.grpc_url, sprite_calls),
                        (rep.sizes(rep.SIZES_BUDGETS, c), srv, batching.grpc_url, budget_calls),
                    ]
                    if int8:
                        quant = options(tmp_path / "int8", "int8")
                        int8_srv = stack.enter_context(TritonServer(quant))
                        triton_sample(quant.grpc_url, data[:2], 2, detectors=names)
                        name = rep.sizes(rep.SIZES_INT8, c)
                        runs.append((name, int8_srv, quant.grpc_url, budget_calls))
                    for _ in range(repeats):
                        for name, server, url, calls in runs:  # YOLO's batches: the buckets'
                            measure(name, server, url, calls, c, batched="yolo")
                variants += [summarize(name, samples[name], c) for name, *_ in runs]
                frame_budget = dict(budget.strides)
                configurations = asdict(configuration_flops(repo, preset, budget))
            else:
                log(f"input-size buckets are off ({why_not or 'bucket_scale 0'}): no size pair")
            clients_result = None
            if clients > 1:
                log(f"{clients} clients at once")
                clients_result = several_clients(
                    batching.grpc_url,
                    data,
                    clients,
                    client_concurrency,
                    best.fps_median,
                    client_loops,
                    names,
                )
            memory.stop()
        if null_loops:
            log("client alone against a trivial server model")
            with TritonServer(null) as null_srv:
                triton_sample(null.grpc_url, data, max(sweep), detectors=names)  # warm-up
                null_samples = [
                    _server_sample(null_srv, null.grpc_url, sprite_calls, max(sweep), null_loops)
                    for _ in range(repeats)
                ]
            variants.append(summarize(rep.NULL, null_samples, max(sweep)))
    tuning = None
    if tune:
        from stashtag.bench.tuning import tune as run_tune

        log("tuning")
        tuning = asdict(
            run_tune(repo, preset, data, best.concurrency or max(sweep), tune_repeats, log=log)
        )
    meta = json.loads((Path(repo) / "clip_image" / "1" / META_FILE).read_text())
    report = rep.BenchReport(
        preset=preset.name,
        weights=meta.get("weights", "?"),
        machine={**machine(), "baseline_device": device},
        sprites=sprites,
        frames_per_request=len(data[0][1]),
        bytes_per_frame=bytes_per_frame(data),
        variants=variants,
        ratios=rep.ratios(variants),
        library_10k_minutes=rep.library_minutes(best.fps_median),
        clients=clients_result,
        tuning=tuning,
        detectors=[
            asdict(c) for c in detector_costs(detectors, variants, best, compute, final.fps)
        ],
        compute=asdict(compute),
        server_peak_gb=round(memory.peak / 2**30, 2) if memory.peak else None,
        frame_budget=frame_budget,
        configurations=configurations,
        int8=int8,
        int8_note=int8_note,
    )
    report.targets = targets(report)
    return report


def _int8_variant(
    repo: Path, dst: Path, preset: Preset, log: Callable[[str], None]
) -> tuple[list[str] | None, str]:
    """The int8 repository of the "+ int8" variant: (models quantised, None) or (None, why
    there is none)."""
    from stashtag.bench.triton_runs import int8_repo
    from stashtag.repo import TARGET_OPTIONS, RepoSettings, int8_models, repo_target

    already = int8_models(repo)
    if already:
        return None, f"{', '.join(already)} already int8 here, in every variant"
    if TARGET_OPTIONS[repo_target(repo)].int8 or RepoSettings.load(repo).gpus:
        return None, "int8 graphs are for ONNX Runtime on the CPU"
    log("quantising CLIP's image graph and DINOv2 to int8 for the + int8 variant")
    done = int8_repo(repo, dst, preset, log)
    return (done, "") if done else (None, "no graph kept its parity in int8")


def _server_sample(
    server, url: str, calls, concurrency: int, loops: int = 1, batched: str = "clip_image"
) -> Sample:
    """A timed Triton run with the server process tree's CPU time over it."""
    before = tree_cpu_seconds(server.process.pid)
    sample = with_gpu_usage(lambda: calls_sample(url, calls, concurrency, loops, batched))
    after = tree_cpu_seconds(server.process.pid)
    sample.server_cpu_s = after - before if None not in (before, after) else None
    return sample


def machine() -> dict:
    info = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        import onnxruntime

        info["onnxruntime_providers"] = onnxruntime.get_available_providers()
    except ImportError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpus"] = torch.cuda.device_count()
    except ImportError:
        pass
    return info
