"""The benchmark report: JSON, Markdown, PNG plots (targets: targets.py), and the change against
an earlier run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from stashtag.bench.compute_markdown import compute_lines, configuration_lines
from stashtag.bench.measure import VariantResult
from stashtag.bench.triton_runs import ClientsResult

LIBRARY_SCENES = 10_000
FRAMES_PER_SCENE = 81

EAGER = "eager pytorch, one frame at a time"
ORT = "onnxruntime in-process (batch = sprite)"
PLAIN = "triton, no dynamic batching, 1 in flight"
PLAIN_FRAMES = "triton, no dynamic batching, per-frame requests, 1 in flight"
NULL = "client alone (trivial server model)"


DYNAMIC = "triton, dynamic batching"


def dynamic(concurrency: int) -> str:
    return f"{DYNAMIC}, {concurrency} in flight"


SIZES_NATIVE = "native squares, every model on every frame (today's configuration)"
SIZES_BUCKETS = "input-size buckets"
SIZES_BUDGETS = "input-size buckets + frame budgets"
SIZES_INT8 = "input-size buckets + frame budgets + int8"


def sizes(kind: str, concurrency: int) -> str:
    """A variant of the interleaved input-size pair (not a ``triton, dynamic batching`` name:
    the best setting is chosen among the main sweep)."""
    return f"input sizes: {kind}, {concurrency} in flight"


def dynamic_frames(concurrency: int) -> str:
    return f"triton, dynamic batching, per-frame requests, {concurrency} in flight"


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
    clients: ClientsResult | None = None
    targets: list[dict] = field(default_factory=list)  # {"target", "value", "met"}
    tuning: dict | None = None
    detectors: list[dict] = field(default_factory=list)  # bench/detectors.py DetectorCost
    compute: dict | None = None  # bench/compute.py ComputeReport
    # the batching server's process tree (PSS: shared pages split), peak over its runs
    server_peak_gb: float | None = None
    # every n-th frame each model saw in the "frame budgets" variant (1: all, 0: none)
    frame_budget: dict | None = None
    configurations: dict | None = None  # bench/compute.py ConfigurationFlops
    # graph models the "+ int8" variant ran quantised (--int8), or why there was none
    int8: list[str] | None = None
    int8_note: str = ""


def _by_name(variants: list[VariantResult]) -> dict[str, VariantResult]:
    return {v.name: v for v in variants}


def best_dynamic(variants: list[VariantResult], per_frame: bool = False) -> VariantResult | None:
    pool = [
        v
        for v in variants
        if v.name.startswith("triton, dynamic batching") and ("per-frame" in v.name) == per_frame
    ]
    return max(pool, key=lambda v: v.fps_median) if pool else None


def ratios(variants: list[VariantResult]) -> dict[str, float]:
    """Rates of the best Triton setting against each baseline of the same run."""
    by = _by_name(variants)
    out: dict[str, float] = {}

    def put(label: str, a: VariantResult | None, b_name: str) -> None:
        b = by.get(b_name)
        if a and b and b.fps_median:
            out[label] = round(a.fps_median / b.fps_median, 2)

    best, best_frames = best_dynamic(variants), best_dynamic(variants, per_frame=True)
    if best:
        put(f"{best.name} / eager pytorch", best, EAGER)
        put(f"{best.name} / no dynamic batching", best, PLAIN)
    if best_frames:
        put(f"{best_frames.name} / no dynamic batching, per-frame", best_frames, PLAIN_FRAMES)
    put("triton 1 in flight / onnxruntime in-process", by.get(dynamic(1)), ORT)
    for kind, label in (
        (SIZES_BUCKETS, BUCKETS_RATIO),
        (SIZES_BUDGETS, BUDGETS_RATIO),
        (SIZES_INT8, INT8_RATIO),
    ):
        for v in variants:
            if v.name == sizes(kind, v.concurrency or 0):
                put(label, v, sizes(SIZES_NATIVE, v.concurrency or 0))
    return out


BUCKETS_RATIO = "input-size buckets / native squares"
BUDGETS_RATIO = "input-size buckets + frame budgets / native squares"
INT8_RATIO = "input-size buckets + frame budgets + int8 / native squares"


def _library_by_configuration(report: BenchReport) -> str:
    """The library's time at the frame-budget variants' rates, where they were measured."""
    out = ""
    for kind, label in ((SIZES_BUDGETS, "the client's default"), (SIZES_INT8, "`--int8`")):
        v = next((v for v in report.variants if v.name == sizes(kind, v.concurrency or 0)), None)
        if v and v.fps_median:
            out += f"; with {kind} ({label}): **{library_minutes(v.fps_median)} minutes**"
    return out


def _dash(value: float | None) -> str:
    return "–" if value is None else str(value)


def library_minutes(fps: float) -> float:
    return round(LIBRARY_SCENES * FRAMES_PER_SCENE / fps / 60, 1) if fps else 0.0


def to_markdown(report: BenchReport, plots: list[str] | None = None) -> str:
    m = report.machine
    extra = [m["gpu"]] if m.get("gpu") else []
    if m.get("baseline_device"):
        extra.append(f"baselines on {m['baseline_device']}")
    if m.get("onnxruntime_providers"):
        extra.append("ONNX Runtime providers " + ", ".join(m["onnxruntime_providers"]))
    lines = [
        f"# stashtag bench — preset `{report.preset}` ({report.weights} weights)",
        "",
        f"Machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}"
        f"{''.join('; ' + e for e in extra)}. {report.sprites} sprite sheets × "
        f"{report.frames_per_request} frames per variant and round; medians of "
        f"{report.variants[0].repeats} interleaved rounds (min–max). Random weights run as fast as"
        " real ones; the rates, not the outputs, are what this measures.",
        "",
    ]
    gpu = any(v.gpu_util_pct is not None for v in report.variants)
    lines += [
        "| variant | frames/s | min–max | p50 / p95 / p99 ms per request | mean batch |"
        " client CPU ms/frame | server CPU % |" + (" GPU util % | GPU MiB |" if gpu else ""),
        "|---|---|---|---|---|---|---|" + ("---|---|" if gpu else ""),
    ]
    for v in report.variants:
        lat = " / ".join(str(v.latency_ms.get(f"p{q}", "–")) for q in (50, 95, 99))
        lines.append(
            f"| {v.name} | {v.fps_median} | {v.fps_min}–{v.fps_max} | {lat} | "
            f"{v.mean_batch or '–'} | {v.client_cpu_ms_per_frame or '–'} |"
            f" {_dash(v.server_cpu_pct)} |"
            + (f" {_dash(v.gpu_util_pct)} | {_dash(v.gpu_mem_mib)} |" if gpu else "")
        )
    if report.frame_budget:
        every = ", ".join(f"{m} {n}" for m, n in report.frame_budget.items())
        lines += [
            "",
            "The input-size variants run today's configuration (YOLO at 640², DINOv2 at 224², every"
            " model on every frame), the input-size buckets (YOLO and DINOv2 at about twice the"
            " sprite cell's resolution), and the buckets with per-model frame budgets (each model"
            f" sees every n-th frame of a sprite: {every}), interleaved at one concurrency.",
        ]
        if report.int8:
            lines[-1] += (
                f" The + int8 variant adds {', '.join(report.int8)} with int8 weight matmuls"
                " (`repo build --int8`, quantised for this run from the same weights)."
            )
        elif report.int8_note:
            lines[-1] += f" No + int8 variant: {report.int8_note}."
    lines += ["", "| ratio (same run) | value |", "|---|---|"]
    lines += [f"| {k} | {v}× |" for k, v in report.ratios.items()]
    if report.clients:
        c = report.clients
        lines += [
            "",
            f"## {c.clients} clients at once ({c.concurrency} in flight each, separate processes)",
            "",
            f"Aggregate {c.aggregate_fps} frames/s = {c.aggregate_vs_peak}× the single-client peak"
            f" ({c.single_client_peak_fps}), mean server batch {c.mean_batch or '–'}."
            " Each client's rate over its whole run: "
            + ", ".join(str(f) for f in c.client_fps)
            + f" frames/s. Share of the frames served during the {c.window_s} s all clients"
            " were sending (1.0 = fair): " + ", ".join(f"{s}×" for s in c.shares) + ".",
        ]
    if report.targets:
        lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
        lines += [
            f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |"
            for t in report.targets
        ]
    if report.detectors:
        lines += [
            "",
            "## Extra detectors",
            "",
            "| detector | alone, frames/s | share of the tagger's compute | ≈ ms per frame |"
            " tagger with / without, frames/s | difference, ms per frame |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {d['name']} | {d['alone_fps']} | {d['compute_share'] * 100:.0f} % |"
            f" {d['ms_per_frame']} | {d['tagger_fps']} / {d['tagger_without_fps']} |"
            f" {d['rate_ms_per_frame']} |"
            for d in report.detectors
        ]
        lines += [
            "",
            "The share is the detector's part of the graph models' compute time (Triton's"
            " statistics, final pass); the rate difference is noisy where a detector is a small"
            " part of the work.",
        ]
    if report.compute:
        lines += compute_lines(report.compute)
    if report.configurations:
        lines += configuration_lines(report.configurations)
    if report.tuning:
        t = report.tuning
        lines += [
            "",
            f"## Tuning ({t['concurrency']} in flight)",
            "",
            f"Start {t['start']} at {t['start_fps']} frames/s → chose {t['chosen']} at"
            f" {t['chosen_fps']} frames/s ({len(t['trials'])} trials"
            f"{', written to the repository' if t['written'] else ''}).",
        ]
    lines += [
        "",
        f"Bytes per frame on the wire: {report.bytes_per_frame} (sprite JPEG + rectangles).",
        f"The batching server's peak memory over its runs (PSS of its process tree, sampled"
        f" every 5 s): {_dash(report.server_peak_gb)} GB.",
        f"A {LIBRARY_SCENES:,}-scene library at {FRAMES_PER_SCENE} frames per scene at the best "
        f"rate of the main sweep (every model on every frame): **{report.library_10k_minutes}"
        f" minutes**{_library_by_configuration(report)}.",
    ]
    for p in plots or []:
        lines += ["", f"![{Path(p).stem}]({Path(p).name})"]
    return "\n".join(lines) + "\n"


def compare(previous: dict, report: BenchReport) -> str:
    """Markdown lines: each variant's and ratio's change since ``previous`` (a bench.json)."""
    old = {v["name"]: v for v in previous.get("variants", [])}
    lines = [
        f"## Change against the earlier run ({previous.get('preset', '?')} preset)",
        "",
        "| | before | now | change |",
        "|---|---|---|---|",
    ]

    def row(label: str, a: float | None, b: float | None, unit: str = "") -> None:
        if a is None or b is None:
            return
        change = f"{(b - a) / a * 100:+.1f} %" if a else "–"
        lines.append(f"| {label} | {a}{unit} | {b}{unit} | {change} |")

    for v in report.variants:
        row(v.name + " (frames/s)", old.get(v.name, {}).get("fps_median"), v.fps_median)
    for k, v in report.ratios.items():
        row(k, previous.get("ratios", {}).get(k), v, "×")
    row("server peak memory (GB)", previous.get("server_peak_gb"), report.server_peak_gb)
    row(
        "10k-scene library (minutes)",
        previous.get("library_10k_minutes"),
        report.library_10k_minutes,
    )
    gone = sorted(set(old) - {v.name for v in report.variants})
    if gone:
        lines += ["", "Not measured this time: " + ", ".join(gone) + "."]
    return "\n".join(lines) + "\n"


def write_report(report: BenchReport, out: Path, previous: dict | None = None) -> list[Path]:
    """bench.json, bench.md and the plots in ``out``; returns the paths written."""
    from stashtag.bench.plots import plot

    out.mkdir(parents=True, exist_ok=True)
    pngs = plot(report, out, ((EAGER, "tab:red"), (ORT, "tab:green"), (PLAIN, "tab:gray")))
    json_path, md_path = out / "bench.json", out / "bench.md"
    json_path.write_text(json.dumps(asdict(report), indent=2) + "\n")
    text = to_markdown(report, [str(p) for p in pngs])
    if previous is not None:
        text += "\n" + compare(previous, report)
    md_path.write_text(text)
    return [json_path, md_path, *pngs]
