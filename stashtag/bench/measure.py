"""Measurements shared by every benchmark variant: samples, summaries and the bench inputs."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stashtag.demo.samples import encode_jpeg, sprite_sheet
from stashtag_client.frames.sprites import grid_rects

CELL_W, CELL_H = 160, 90  # one Stash sprite cell

# A request: one encoded image and the frame rectangles to crop from it.
Request = tuple[bytes, np.ndarray]


@dataclass
class Sample:
    """One measurement of a variant."""

    frames: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # per request, seconds
    client_cpu_s: float = 0.0
    mean_batch: float | None = None
    server_cpu_s: float | None = None  # the server process tree's CPU time during the sample
    gpu_util_pct: float | None = None  # mean over the sample (nvidia-smi); None: no GPU seen
    gpu_mem_mib: float | None = None  # peak over the sample

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


@dataclass
class VariantResult:
    name: str
    fps_median: float
    fps_min: float
    fps_max: float
    repeats: int
    latency_ms: dict[str, float] = field(default_factory=dict)
    mean_batch: float | None = None
    client_cpu_ms_per_frame: float | None = None
    concurrency: int | None = None  # requests in flight (Triton variants)
    server_cpu_pct: float | None = None  # of all the machine's cores
    latencies_ms: list[float] = field(default_factory=list)  # sorted, for the latency CDF
    gpu_util_pct: float | None = None  # median of the samples' means
    gpu_mem_mib: float | None = None  # peak


def summarize(name: str, samples: list[Sample], concurrency: int | None = None) -> VariantResult:
    """Median rate with its spread over repeats; latency percentiles over all requests."""
    rates = [s.fps for s in samples]
    lat = sorted(x * 1000 for s in samples for x in s.latencies)
    frames = sum(s.frames for s in samples)
    cpu = sum(s.client_cpu_s for s in samples)
    batches = [s.mean_batch for s in samples if s.mean_batch]
    util = [s.gpu_util_pct for s in samples if s.gpu_util_pct is not None]
    mem = [s.gpu_mem_mib for s in samples if s.gpu_mem_mib is not None]
    return VariantResult(
        name,
        round(statistics.median(rates), 2),
        round(min(rates), 2),
        round(max(rates), 2),
        len(samples),
        {f"p{q}": round(float(np.percentile(lat, q)), 1) for q in (50, 95, 99)} if lat else {},
        round(statistics.median(batches), 2) if batches else None,
        round(1000 * cpu / frames, 3) if cpu and frames else None,
        concurrency,
        _server_cpu_pct(samples),
        [round(x, 2) for x in lat] if concurrency is not None else [],
        round(statistics.median(util), 1) if util else None,
        max(mem) if mem else None,
    )


def with_gpu_usage(measure: Callable[[], Sample]) -> Sample:
    """Run ``measure`` while sampling the GPUs; their use is stored on the sample."""
    from stashtag.bench.gpu import GpuSampler

    with GpuSampler() as gpu:
        sample = measure()
    if gpu.usage is not None:
        sample.gpu_util_pct, sample.gpu_mem_mib = gpu.usage.util_pct, gpu.usage.mem_mib
    return sample


def _server_cpu_pct(samples: list[Sample]) -> float | None:
    used = [s for s in samples if s.server_cpu_s is not None]
    if not used:
        return None
    wall = sum(s.seconds for s in used) * (os.cpu_count() or 1)
    return round(100 * sum(s.server_cpu_s for s in used) / wall, 1) if wall else None


def bench_sprites(count: int, grid: int = 9, seed: int = 0) -> list[Request]:
    """``count`` distinct ``grid``×``grid`` sprite sheets (160×90 cells) as (JPEG, rects)."""
    rects = grid_rects(grid * CELL_W, grid * CELL_H, cols=grid, rows=grid)
    return [
        (encode_jpeg(sprite_sheet(seed + i)[: grid * CELL_H, : grid * CELL_W]), rects)
        for i in range(count)
    ]


def frame_requests(sprites: list[Request], limit: int) -> list[Request]:
    """Up to ``limit`` single-frame requests cut from ``sprites`` (one JPEG per frame), the way
    single images and hook-triggered frames reach the server."""
    from stashtag.processing.image import crop_frames, decode_image

    whole = np.array([[0, 0, CELL_W, CELL_H]], np.int32)
    out: list[Request] = []
    for jpeg, rects in sprites:
        for frame in crop_frames(decode_image(jpeg, 10**8), rects):
            if len(out) == limit:
                return out
            out.append((encode_jpeg(frame), whole))
    return out


def bytes_per_frame(requests: list[Request]) -> float:
    return round(sum(len(j) + r.nbytes for j, r in requests) / sum(len(r) for _, r in requests), 1)
