"""Benchmark variants that go through Triton: derived repositories, timed request runs, several
clients at once, and the server's CPU use."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from stashtag.bench.measure import Request, Sample
from stashtag.statistics import counts, settled
from stashtag_client.inference.budget import FrameBudget
from stashtag_core.modelspec import TAGGER, Batching, ModelSpec, Target
from stashtag_core.presets import Preset

# --- repositories derived from the one under test -----------------------------------------------


def derived_repo(
    src: Path,
    dst: Path,
    preset: Preset,
    change: Callable[[list[ModelSpec]], list[ModelSpec]],
    target: Target | None = None,
    no_detectors: bool = False,
    bucket_scale: float | None = None,
) -> Path:
    """A repository at ``dst`` with ``src``'s weights (linked, not copied) and configs from
    ``change(specs)`` for ``target`` (default: ``src``'s own, so a GPU repository's baselines
    run on the same runtime and devices), with ``src``'s detectors (none with
    ``no_detectors``) and its input-size buckets or ``bucket_scale`` (0: the native squares)."""
    from stashtag.repo import BuildSpec, build_repository

    spec = BuildSpec(
        dst,
        preset.name,
        target,
        bucket_scale=bucket_scale,
        no_detectors=no_detectors,
        weights_from=src,
        adjust=change,
    )
    build_repository(spec, log=lambda _m: None)
    return dst


def int8_repo(
    src: Path,
    dst: Path,
    preset: Preset,
    log: Callable[[str], None] = print,
) -> list[str]:
    """A :func:`derived_repo` at ``dst`` whose CLIP image graph and DINOv2 are int8 copies of
    ``src``'s (quantised as ``repo build --int8`` does; ``src`` untouched); return the models
    quantised (one under the parity threshold stays fp32, said in the log)."""
    import shutil

    from stashtag_core.errors import ExportError
    from stashtag_export.int8 import INT8_MODELS, quantize_int8

    derived_repo(src, dst, preset, lambda s: s)
    done = []
    for model in (m for models in INT8_MODELS.values() for m in models):
        link = dst / model / "1" / "model.onnx"
        if not link.is_symlink():
            continue
        fp32 = link.resolve()
        link.unlink()
        shutil.copyfile(fp32, link)
        try:
            quantize_int8(link)
            done.append(model)
        except ExportError as exc:
            log(f"{model} stays fp32: {exc}")
            link.unlink()
            link.symlink_to(fp32)
    return done


def without_dynamic_batching(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Every model runs each request alone (baseline 3)."""
    return [
        replace(s, batching=replace(s.batching, dynamic=False))
        if isinstance(s.batching, Batching)
        else s
        for s in specs
    ]


def null_tagger(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Only a ``tagger`` that answers zeros: the client measured alone (variant 6)."""
    tagger = next(s for s in specs if s.name == TAGGER.model)
    return [
        replace(
            tagger, kind="python", module="stashtag.serving.null_model", steps=(), batching=None
        )
    ]


# --- timed runs ---------------------------------------------------------------------------------


# One request to a model: (model, inputs, outputs to ask for, frames it carries).
Call = tuple[str, dict[str, np.ndarray], tuple[str, ...], int]


def tagger_call(
    request: Request, detectors: tuple[str, ...] = (), budget: FrameBudget | None = None
) -> Call:
    """A sprite or frame request as the client sends it: to the ``tagger`` ensemble, asking
    for the extra ``detectors``' outputs too (Triton runs only the steps an asked output
    needs: without them a detector in the ensemble would never run), with ``budget``'s
    per-model frame lists when given."""
    from stashtag_client.inference.triton import frame_lists, tagger_outputs

    feed = TAGGER.feed(np.frombuffer(request[0], np.uint8), request[1])
    lists = budget.lists(len(request[1])) if budget else None
    outputs = tagger_outputs(detectors, lists)
    return TAGGER.model, {**feed, **frame_lists(lists)}, outputs, len(request[1])


def _batches(url: str, model: str = "clip_image") -> tuple[int, int] | None:
    """(inferences, executions) of ``model`` so far; None on a server without it."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    try:
        return counts(grpcclient.InferenceServerClient(url), model)
    except InferenceServerException:
        return None


async def _send_all(
    url: str,
    calls: list[Call],
    concurrency: int,
    lat: list[float],
    done: list[tuple[float, int]] | None = None,
) -> None:
    """Send every call, ``concurrency`` in flight; latencies into ``lat``, and (sent,
    answered, frames) in wall time of each call into ``done``."""
    from stashtag_client.inference.transport import EndpointPool, parse_endpoints

    slots = asyncio.Semaphore(concurrency)
    async with EndpointPool(parse_endpoints(url), concurrency) as pool:

        async def one(call: Call) -> None:
            model, feed, outputs, frames = call
            async with slots:  # latency from send to answer, not time queued in the client
                t = time.perf_counter()
                await pool.infer(model, feed, outputs)
                took = time.perf_counter() - t
                lat.append(took)
                if done is not None:
                    end = time.time()
                    done.append((end - took, end, frames))

        await asyncio.gather(*(one(c) for c in calls))


def triton_sample(
    url: str,
    requests: list[Request],
    concurrency: int,
    loops: int = 1,
    detectors: tuple[str, ...] = (),
) -> Sample:
    """Send ``requests`` to the tagger (``loops`` times over) with ``concurrency`` in flight."""
    return calls_sample(url, [tagger_call(r, detectors) for r in requests], concurrency, loops)


def calls_sample(
    url: str, calls: list[Call], concurrency: int, loops: int = 1, batched: str = "clip_image"
) -> Sample:
    """Send ``calls`` (``loops`` times over) with ``concurrency`` in flight; the mean batch is
    read from the server's statistics of model ``batched``."""
    lat: list[float] = []
    before = _batches(url, batched)
    work = calls * loops
    frames = sum(c[3] for c in work)
    cpu, start = time.process_time(), time.perf_counter()
    asyncio.run(_send_all(url, work, concurrency, lat))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    mean_batch = None
    if before is not None:
        after = settled(
            lambda: _batches(url, batched) or before,
            # every frame counted, or (a model under a frame budget sees fewer) counts settled
            lambda now, last: now[0] - before[0] >= frames or (now == last and now[0] > before[0]),
            timeout_s=2.0,
        )
        executions = after[1] - before[1]
        mean_batch = round((after[0] - before[0]) / executions, 2) if executions else None
    return Sample(frames, seconds, lat, cpu, mean_batch)


# --- several clients at once (variant 5) ---------------------------------------------------------


@dataclass
class ClientsResult:
    clients: int
    concurrency: int  # in flight per client
    aggregate_fps: float
    single_client_peak_fps: float
    aggregate_vs_peak: float
    client_fps: list[float]
    # frames each client got answered while all of them were sending / the mean of that; 1.0
    # is a perfectly fair share (whole runs differ by when each client's last answer came)
    shares: list[float]
    mean_batch: float | None = None
    window_s: float = 0.0  # how long all clients were sending at once


def _client_process(url, requests, concurrency, detectors, barrier, results) -> None:
    lat: list[float] = []
    done: list[tuple[float, int]] = []
    barrier.wait()
    start = time.time()
    calls = [tagger_call(r, detectors) for r in requests]
    asyncio.run(_send_all(url, calls, concurrency, lat, done))
    results.put((sum(len(r[1]) for r in requests), start, time.time(), done))


def fair_shares(runs: list[tuple[int, float, float, list]]) -> tuple[list[float], float]:
    """Each client's frames served while every client was still sending, over the mean. A
    request's frames count for the part of its send→answer time inside that window: whole
    81-frame answers would make the shares jump by a request at a time."""
    start, end = max(r[1] for r in runs), min(r[2] for r in runs)

    def inside(sent: float, answered: float, frames: int) -> float:
        overlap = min(answered, end) - max(sent, start)
        return frames * max(overlap, 0.0) / max(answered - sent, 1e-9)

    got = [sum(inside(*d) for d in r[3]) for r in runs]
    mean = sum(got) / len(got)
    return [round(g / mean, 2) if mean else 0.0 for g in got], max(end - start, 0.0)


def several_clients(
    url: str,
    requests: list[Request],
    clients: int,
    concurrency: int,
    peak_fps: float,
    loops: int = 1,
    detectors: tuple[str, ...] = (),
) -> ClientsResult:
    """``clients`` separate processes (like separate Stash instances) send the same work
    (``requests``, ``loops`` times over) at once; aggregate rate over the whole run, each
    client's own rate, and each one's share while all of them were sending."""
    requests = requests * loops
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(clients), ctx.Queue()
    procs = [
        ctx.Process(
            target=_client_process,
            args=(url, requests, concurrency, detectors, barrier, results),
        )
        for _ in range(clients)
    ]
    before = _batches(url)
    for p in procs:
        p.start()
    done = [results.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    after = _batches(url)
    mean_batch = None
    if before and after and after[1] > before[1]:
        mean_batch = round((after[0] - before[0]) / (after[1] - before[1]), 2)
    first, last = min(d[1] for d in done), max(d[2] for d in done)
    aggregate = sum(d[0] for d in done) / (last - first)
    rates = [d[0] / (d[2] - d[1]) for d in done]
    shares, window = fair_shares(done)
    return ClientsResult(
        clients,
        concurrency,
        round(aggregate, 2),
        round(peak_fps, 2),
        round(aggregate / peak_fps, 2) if peak_fps else 0.0,
        [round(r, 2) for r in rates],
        shares,
        mean_batch,
        round(window, 1),
    )
