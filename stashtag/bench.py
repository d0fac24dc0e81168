"""`stashtag bench`: throughput of the tagging pipeline against baselines, measured in one run.

Every variant processes the same synthetic Stash sprite sheets (81 frames of 160×90) through the
same models (CLIP image tower, YOLOv8 + NMS, DINOv2), so their rates compare directly:

1. eager PyTorch, one frame at a time (what existing Stash taggers do);
2. ONNX Runtime in-process, one sprite (81 frames) per batch;
3. Triton without dynamic batching, one request at a time;
4. Triton with dynamic batching over a concurrency sweep;
6. client overhead: client CPU per frame and bytes per frame on the wire, from the sweep.

Variants are interleaved and repeated; the report gives medians with their spread. Random weights
are fine for speed, and the report says which weights were used.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from stashtag.client.sprites import grid_rects
from stashtag.modelspec import YOLO_MAX_DETECTIONS, Batching
from stashtag.presets import Preset
from stashtag.samples import encode_jpeg, sprite_sheet

LIBRARY_SCENES = 10_000
FRAMES_PER_SCENE = 81


@dataclass
class Sample:
    """One measurement of a variant."""

    frames: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # per request, seconds
    client_cpu_s: float = 0.0
    mean_batch: float | None = None

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


@dataclass
class BenchReport:
    preset: str
    weights: str
    machine: dict
    sprites: int
    frames_per_request: int
    bytes_per_frame: float
    variants: list[VariantResult]
    ratios: dict[str, float]
    library_10k_minutes: float


def bench_sprites(count: int, grid: int = 9, seed: int = 0) -> list[tuple[bytes, np.ndarray]]:
    """``count`` distinct ``grid``×``grid`` sprite sheets (160×90 cells) as (JPEG, rects)."""
    rects = grid_rects(grid * 160, grid * 90, cols=grid, rows=grid)
    return [
        (encode_jpeg(sprite_sheet(seed + i)[: grid * 90, : grid * 160]), rects)
        for i in range(count)
    ]


def _summary(name: str, samples: list[Sample]) -> VariantResult:
    rates = [s.fps for s in samples]
    lat = [x for s in samples for x in s.latencies]
    frames = sum(s.frames for s in samples)
    cpu = sum(s.client_cpu_s for s in samples)
    batches = [s.mean_batch for s in samples if s.mean_batch]
    return VariantResult(
        name,
        round(statistics.median(rates), 2),
        round(min(rates), 2),
        round(max(rates), 2),
        len(samples),
        {f"p{q}": round(float(np.percentile(lat, q)) * 1000, 1) for q in (50, 95, 99)}
        if lat
        else {},
        round(statistics.median(batches), 2) if batches else None,
        round(1000 * cpu / frames, 3) if cpu and frames else None,
    )


# --- in-process baselines ------------------------------------------------------------------------


def _frames(sprite: tuple[bytes, np.ndarray]):
    from stashtag.processing.image import crop_frames, decode_image

    return crop_frames(decode_image(sprite[0], 10**8), sprite[1])


def eager_torch_runner(preset: Preset) -> Callable[[tuple[bytes, np.ndarray]], int]:
    """Random-weight framework models run one frame at a time (PyTorch eager)."""
    import torch

    from stashtag.export.clip import create_model as clip_model
    from stashtag.export.dinov2 import create_model as dino_model
    from stashtag.export.yolo import create_model as yolo_model
    from stashtag.processing.image import letterbox_batch, prepare
    from stashtag.processing.yolo import postprocess_batch

    clip, yolo, dino = (
        clip_model(preset.clip, True),
        yolo_model(preset.yolo, True),
        dino_model(preset.dinov2, True),
    )

    def norm(x: np.ndarray, mean, std) -> torch.Tensor:
        t = torch.from_numpy(x).float() / 255
        return (t - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)

    def run(sprite) -> int:
        frames = _frames(sprite)
        with torch.no_grad():
            for f in frames:
                clip.encode_image(
                    norm(
                        prepare([f], preset.clip.image_size, "crop"),
                        preset.clip.mean,
                        preset.clip.std,
                    )
                )
                boxed, geo = letterbox_batch([f], preset.yolo.image_size)
                raw = yolo(torch.from_numpy(boxed).float() / 255)[0].numpy()
                postprocess_batch(raw, geo, 0.25, 0.45, YOLO_MAX_DETECTIONS)
                dino(
                    pixel_values=norm(
                        prepare([f], preset.dinov2.image_size, "squash"),
                        preset.dinov2.mean,
                        preset.dinov2.std,
                    )
                )
        return len(frames)

    return run


def ort_runner(repo: Path, preset: Preset) -> Callable[[tuple[bytes, np.ndarray]], int]:
    """The exported graphs in-process with ONNX Runtime, one sprite per batch."""
    from stashtag.processing.image import letterbox_batch, prepare
    from stashtag.processing.yolo import postprocess_batch
    from stashtag.serving.runtime import make_session

    sessions = {
        m: make_session(Path(repo) / m / "1" / "model.onnx", device="cpu")
        for m in ("clip_image", "yolo", "dinov2")
    }

    def run(sprite) -> int:
        frames = _frames(sprite)
        sessions["clip_image"].run(None, {"image": prepare(frames, preset.clip.image_size, "crop")})
        boxed, geo = letterbox_batch(frames, preset.yolo.image_size)
        raw = sessions["yolo"].run(None, {"image": boxed})[0]
        postprocess_batch(raw, geo, 0.25, 0.45, YOLO_MAX_DETECTIONS)
        sessions["dinov2"].run(None, {"image": prepare(frames, preset.dinov2.image_size, "squash")})
        return len(frames)

    return run


def time_inprocess(run: Callable, sprites) -> Sample:
    start, lat = time.perf_counter(), []
    frames = 0
    for s in sprites:
        t = time.perf_counter()
        frames += run(s)
        lat.append(time.perf_counter() - t)
    return Sample(frames, time.perf_counter() - start, lat)


# --- Triton -------------------------------------------------------------------------------------


def no_batching_repo(src: Path, dst: Path, preset: Preset) -> Path:
    """A copy of ``src`` (weights linked, not copied) whose models run every request alone."""
    from stashtag.repository import specs_for, write_configs

    specs = [
        replace(s, batching=replace(s.batching, dynamic=False))
        if isinstance(s.batching, Batching)
        else s
        for s in specs_for(src, preset)
    ]
    for model_dir in Path(src).iterdir():
        if not (model_dir / "config.pbtxt").is_file():
            continue
        (dst / model_dir.name / "1").mkdir(parents=True, exist_ok=True)
        for f in (model_dir / "1").iterdir():
            link = dst / model_dir.name / "1" / f.name
            if f.name != "model.py" and not link.exists():
                link.symlink_to(f.resolve())
    write_configs(dst, specs, "python-ort")
    return dst


def _clip_batches(url: str) -> tuple[int, int]:
    import tritonclient.grpc as grpcclient

    stats = grpcclient.InferenceServerClient(url).get_inference_statistics(
        "clip_image", as_json=True
    )["model_stats"][0]
    return int(stats.get("inference_count", 0)), int(stats.get("execution_count", 0))


async def _triton_sample(url: str, sprites, concurrency: int) -> Sample:
    from stashtag.client.pipeline import TAGGER_OUTPUTS
    from stashtag.client.transport import EndpointPool, parse_endpoints

    lat: list[float] = []
    before = _clip_batches(url)
    slots = asyncio.Semaphore(concurrency)
    async with EndpointPool(parse_endpoints(url), concurrency) as pool:

        async def one(sprite):
            async with slots:  # latency from send to answer, not time queued in the client
                t = time.perf_counter()
                await pool.infer(
                    "tagger",
                    {"jpeg": np.frombuffer(sprite[0], np.uint8), "rects": sprite[1]},
                    TAGGER_OUTPUTS,
                )
                lat.append(time.perf_counter() - t)

        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(s) for s in sprites))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    await asyncio.sleep(0.3)  # Triton's statistics can trail the last response
    after = _clip_batches(url)
    executions = after[1] - before[1]
    mean_batch = (after[0] - before[0]) / executions if executions else None
    return Sample(sum(len(s[1]) for s in sprites), seconds, lat, cpu, mean_batch)


def triton_sample(url: str, sprites, concurrency: int) -> Sample:
    return asyncio.run(_triton_sample(url, sprites, concurrency))


# --- the whole run ------------------------------------------------------------------------------


def run_bench(
    repo: Path,
    preset: Preset,
    sprites: int = 8,
    repeats: int = 3,
    sweep: tuple[int, ...] = (1, 2, 4, 8, 16),
    eager: bool = True,
    log: Callable[[str], None] = print,
    grid: int = 9,
) -> BenchReport:
    """Measure every variant ``repeats`` times, interleaved, on the same sprites."""
    import tempfile

    from stashtag.server import ServerOptions, TritonServer, free_port

    data = bench_sprites(sprites, grid)
    frames_per_request = len(data[0][1])
    samples: dict[str, list[Sample]] = {}
    runners: dict[str, Callable] = {
        "onnxruntime in-process (batch = sprite)": ort_runner(repo, preset)
    }
    if eager:
        runners["eager pytorch, one frame at a time"] = eager_torch_runner(preset)
    with tempfile.TemporaryDirectory() as tmp:
        plain = no_batching_repo(repo, Path(tmp) / "repo", preset)
        servers = {
            "batching": ServerOptions(
                repo, free_port(), free_port(), free_port(), log_file=Path(tmp) / "batching.log"
            ),
            "plain": ServerOptions(
                plain, free_port(), free_port(), free_port(), log_file=Path(tmp) / "plain.log"
            ),
        }
        with TritonServer(servers["batching"]), TritonServer(servers["plain"]):
            for run in runners.values():  # warm-up
                run(data[0])
            triton_sample(servers["batching"].grpc_url, data[:2], 2)
            triton_sample(servers["plain"].grpc_url, data[:1], 1)
            for r in range(repeats):
                log(f"round {r + 1}/{repeats}")
                for name, run in runners.items():
                    samples.setdefault(name, []).append(time_inprocess(run, data))
                samples.setdefault("triton, no dynamic batching, 1 in flight", []).append(
                    triton_sample(servers["plain"].grpc_url, data, 1)
                )
                for c in sweep:
                    samples.setdefault(f"triton, dynamic batching, {c} in flight", []).append(
                        triton_sample(servers["batching"].grpc_url, data, c)
                    )
    variants = [_summary(n, s) for n, s in samples.items()]
    by_name = {v.name: v for v in variants}
    best = max((v for v in variants if "dynamic batching" in v.name), key=lambda v: v.fps_median)

    def ratio(a: VariantResult, b_name: str) -> float | None:
        b = by_name.get(b_name)
        return round(a.fps_median / b.fps_median, 2) if b and b.fps_median else None

    ratios = {
        f"{best.name} / eager pytorch": ratio(best, "eager pytorch, one frame at a time"),
        f"{best.name} / no dynamic batching": ratio(
            best, "triton, no dynamic batching, 1 in flight"
        ),
        "triton 1 in flight / onnxruntime in-process": ratio(
            by_name["triton, dynamic batching, 1 in flight"],
            "onnxruntime in-process (batch = sprite)",
        )
        if 1 in sweep
        else None,
    }
    meta = json.loads((Path(repo) / "clip_image" / "1" / "meta.json").read_text())
    return BenchReport(
        preset=preset.name,
        weights=meta.get("weights", "?"),
        machine={
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        sprites=sprites,
        frames_per_request=frames_per_request,
        bytes_per_frame=round(
            sum(len(d[0]) + d[1].nbytes for d in data) / sum(len(d[1]) for d in data), 1
        ),
        variants=variants,
        ratios={k: v for k, v in ratios.items() if v is not None},
        library_10k_minutes=round(LIBRARY_SCENES * FRAMES_PER_SCENE / best.fps_median / 60, 1),
    )


def to_markdown(report: BenchReport) -> str:
    lines = [
        f"# stashtag bench — preset `{report.preset}` ({report.weights} weights)",
        "",
        f"Machine: {report.machine['cpus']} CPUs, {report.machine['platform']}, Python "
        f"{report.machine['python']}. {report.sprites} sprite sheets × "
        f"{report.frames_per_request} frames per variant and round; medians of "
        f"{report.variants[0].repeats} interleaved rounds (min–max).",
        "",
        "| variant | frames/s | min–max | p50 / p95 / p99 ms per request | mean batch |"
        " client CPU ms/frame |",
        "|---|---|---|---|---|---|",
    ]
    for v in report.variants:
        lat = " / ".join(str(v.latency_ms.get(f"p{q}", "–")) for q in (50, 95, 99))
        lines.append(
            f"| {v.name} | {v.fps_median} | {v.fps_min}–{v.fps_max} | {lat} | "
            f"{v.mean_batch or '–'} | {v.client_cpu_ms_per_frame or '–'} |"
        )
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {k} | {v}× |" for k, v in report.ratios.items()]
    lines += [
        "",
        f"Bytes per frame on the wire: {report.bytes_per_frame} (sprite JPEG + rectangles).",
        f"A {LIBRARY_SCENES:,}-scene library at {FRAMES_PER_SCENE} frames per scene at the best "
        f"measured rate: **{report.library_10k_minutes} minutes**.",
        "",
    ]
    return "\n".join(lines)


def write_report(report: BenchReport, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "bench.json", out / "bench.md"
    json_path.write_text(json.dumps(asdict(report), indent=2) + "\n")
    md_path.write_text(to_markdown(report))
    return json_path, md_path
