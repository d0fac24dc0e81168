"""The limit, as a number: each graph model's operations per item, what it achieved while
computing (Triton's own compute time for it) and the share of this machine's matmul peak."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stashtag.bench.flops import graph_flops
from stashtag.bench.measure import CELL_H, CELL_W
from stashtag_core.modelspec import ModelSpec
from stashtag_core.modelspec.buckets import letterbox_bucket
from stashtag_core.modelspec.params import PreprocessParams


@dataclass
class ModelCompute:
    name: str
    gflop_per_item: float  # one frame (ocr_det: one sprite cell scaled as OCR scales it)
    items: int  # what Triton ran it on during the bench
    compute_s: float  # Triton's compute time for it (all instances together)
    achieved_gflops: float
    of_peak: float  # achieved / the machine's matmul peak


@dataclass
class ComputeReport:
    peak_gflops: float  # fp32 matmul where the graphs run (CPU: ONNX Runtime's default threads)
    peak_on: str
    models: list[ModelCompute] = field(default_factory=list)
    gflop_per_frame: float = 0.0  # every model's work for one tagged frame, OCR's share included
    pipeline_gflops: float = 0.0  # gflop_per_frame × the best rate
    pipeline_of_peak: float = 0.0
    # graph models the bench's tagger requests never ran (OCR: the client asks it apart), GFLOP
    # per item
    not_run: dict[str, float] = field(default_factory=dict)


def item_shape(spec: ModelSpec, pre: PreprocessParams | None = None) -> tuple[int, ...] | None:
    """The shape one item of ``spec``'s image input has in the bench (batch 1: a sprite cell
    at its input-size bucket, from ``preprocess``'s parameters ``pre``, where it has one);
    None for a model whose input size depends on the content (OCR's text lines)."""
    if len(spec.inputs) != 1 or spec.inputs[0].name != "image":
        return None
    dims = spec.inputs[0].dims
    if -1 not in dims:
        return (1, *dims)
    cell = [(CELL_W, CELL_H)]
    if pre and spec.name in ("yolo", "dinov2"):
        buckets = pre.bucket_choice()
        w, h = buckets.yolo(cell) if spec.name == "yolo" else buckets.dino(cell)
        return (1, 3, h, w)
    detector = next((d for d in pre.detectors if d.name == spec.name), None) if pre else None
    if pre and detector and detector.buckets:
        w, h = letterbox_bucket(cell, detector.buckets, pre.bucket_scale)
        return (1, 3, h, w)
    if spec.name == "ocr_det":  # a sprite cell, resized as OCR's detector input is
        import numpy as np

        from stashtag.processing.ocr import DetParams, det_input

        cell = np.zeros((CELL_H, CELL_W, 3), np.uint8)
        return (1, *det_input(cell, DetParams()).shape)
    return None


def model_flops(repo: Path, specs: list[ModelSpec]) -> dict[str, float]:
    """GFLOP per item of each graph model the repository holds as ONNX."""
    out = {}
    given = next((s.parameters for s in specs if s.name == "preprocess"), None)
    pre = PreprocessParams.decode(given) if given and "yolo_size" in given else None
    for spec in specs:
        path = Path(repo) / spec.name / "1" / "model.onnx"
        shape = item_shape(spec, pre) if spec.kind == "onnx" else None
        if shape is not None and path.is_file():
            out[spec.name] = graph_flops(path, {"image": shape}) / 1e9
    return out


def compute_stats(url: str, models: list[str]) -> dict[str, tuple[int, float]]:
    """(items, compute seconds) Triton has recorded for each model so far, read until two
    readings agree: a model's statistics are recorded after the answer it was part of left."""
    import tritonclient.grpc as grpcclient

    from stashtag.statistics import model_stats, settled

    client = grpcclient.InferenceServerClient(url)

    def read() -> dict[str, tuple[int, float]]:
        out = {}
        for name in models:
            stats = model_stats(client, name)
            ns = int(stats.get("inference_stats", {}).get("compute_infer", {}).get("ns", 0))
            out[name] = (int(stats.get("inference_count", 0)), ns / 1e9)
        return out

    return settled(read, timeout_s=10.0, interval_s=0.2)


def compute_report(
    peak: tuple[float, str],
    flops: dict[str, float],
    before: dict[str, tuple[int, float]],
    after: dict[str, tuple[int, float]],
    frames: int,
    best_fps: float,
) -> ComputeReport:
    """Each model's achieved rate over what ran between ``before`` and ``after`` (``frames``
    tagged frames), and the whole pipeline's at ``best_fps``."""
    report = ComputeReport(round(peak[0], 1), peak[1])
    peak = peak[0]
    for name, gflop in flops.items():
        items = after[name][0] - before[name][0]
        seconds = after[name][1] - before[name][1]
        if not items or seconds <= 0:
            report.not_run[name] = round(gflop, 3)
            continue
        achieved = gflop * items / seconds
        report.models.append(
            ModelCompute(
                name,
                round(gflop, 3),
                items,
                round(seconds, 2),
                round(achieved, 1),
                round(achieved / peak, 3),
            )
        )
        if frames:
            report.gflop_per_frame += gflop * items / frames
    report.gflop_per_frame = round(report.gflop_per_frame, 3)
    report.pipeline_gflops = round(report.gflop_per_frame * best_fps, 1)
    report.pipeline_of_peak = round(report.pipeline_gflops / peak, 3) if peak else 0.0
    return report


# A frame model's key in a frame budget (detectors: their own names).
BUDGET_KEYS = {"clip_image": "clip", "yolo": "yolo", "dinov2": "dino"}


@dataclass
class ConfigurationFlops:
    """GFLOP per tagged sprite cell of the frame models in three configurations: today's (native
    squares, every model on every frame), input-size buckets, buckets + frame budgets."""

    native: float
    buckets: float
    budgets: float
    budget: dict[str, int]  # every n-th frame per model (the budgets configuration)
    models: dict[str, dict[str, float]]  # model → {"native", "bucket"} GFLOP per item


def configuration_flops(
    repo: Path, preset, budget, frames: int = 81, bucket_scale: float | None = None
) -> ConfigurationFlops:
    """Counted from ``repo``'s graphs (no timing): each frame model's work per item at its
    native square and at a sprite cell's bucket, and per tagged frame under ``budget`` (a
    :class:`~stashtag_client.inference.budget.FrameBudget`) over ``frames``-frame sprites."""
    from stashtag.repo import RepoSettings, specs_for
    from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE

    scale = bucket_scale if bucket_scale is not None else RepoSettings.load(repo).bucket_scale
    specs = {
        kind: specs_for(repo, preset, bucket_scale=s)
        for kind, s in (("native", 0.0), ("bucket", scale or DEFAULT_BUCKET_SCALE))
    }
    graphs = {kind: model_flops(repo, s) for kind, s in specs.items()}
    frame_models = [s.name for s in specs["native"] if s.frame_model and s.kind == "onnx"]
    models = {
        m: {kind: round(graphs[kind][m], 3) for kind in graphs}
        for m in frame_models
        if m in graphs["native"]
    }

    def share(model: str) -> float:
        key = BUDGET_KEYS.get(model, model)
        return len(budget.frames(key, frames)) / frames

    return ConfigurationFlops(
        native=round(sum(m["native"] for m in models.values()), 2),
        buckets=round(sum(m["bucket"] for m in models.values()), 2),
        budgets=round(sum(m["bucket"] * share(n) for n, m in models.items()), 2),
        budget=dict(budget.strides),
        models=models,
    )
