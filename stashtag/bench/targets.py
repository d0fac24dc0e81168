"""The issue's targets, each with the value one bench run measured and whether it was met."""

from __future__ import annotations

from stashtag.bench.measure import VariantResult
from stashtag.bench.report import (
    BUDGETS_RATIO,
    INT8_RATIO,
    NULL,
    SIZES_BUDGETS,
    SIZES_NATIVE,
    BenchReport,
    _by_name,
    sizes,
)


def targets(report: BenchReport) -> list[dict]:
    """The issue's targets, each with the measured value and whether it was met."""
    by, r = _by_name(report.variants), report.ratios
    rows: list[dict] = []

    def add(target: str, value: float | None, met: bool | None) -> None:
        if value is not None:
            rows.append({"target": target, "value": value, "met": met})

    def ratio_like(prefix: str, suffix: str) -> float | None:
        return next((v for k, v in r.items() if k.startswith(prefix) and k.endswith(suffix)), None)

    eager = ratio_like("triton, dynamic batching", "/ eager pytorch")
    add("dynamic batching ≥ 1.5× eager PyTorch", eager, eager is not None and eager >= 1.5)
    plain = ratio_like("triton, dynamic batching", "/ no dynamic batching")
    add("dynamic batching ≥ 1.3× no batching (sprite requests)", plain, (plain or 0) >= 1.3)
    frames = ratio_like("triton, dynamic batching, per-frame", "per-frame")
    add("dynamic batching ≥ 1.3× no batching (per-frame requests)", frames, (frames or 0) >= 1.3)
    ort = r.get("triton 1 in flight / onnxruntime in-process")
    add("Triton overhead ≤ 10 % vs ORT in-process (ratio ≥ 0.9)", ort, (ort or 0) >= 0.9)
    budgets = r.get(BUDGETS_RATIO)
    add(
        "buckets + frame budgets ≥ 2× today's configuration (fp32)",
        budgets,
        budgets is not None and budgets >= 2,
    )
    int8 = r.get(INT8_RATIO)
    add("… + int8 ≥ 2.5× today's configuration", int8, int8 is not None and int8 >= 2.5)
    client = _client_cpu_change(by)
    add(
        "client CPU per frame unchanged by buckets + budgets (≤ 1.1× today's)",
        client,
        client is not None and client <= 1.1,
    )
    null = by.get(NULL)
    cpu = null.client_cpu_ms_per_frame if null else None
    add("client ≤ 0.2 ms CPU per frame (trivial server)", cpu, cpu is not None and cpu <= 0.2)
    add("≤ 6 KB per frame on the wire", report.bytes_per_frame, report.bytes_per_frame <= 6000)
    if report.clients:
        c = report.clients
        add(
            f"{c.clients} clients: aggregate ≥ 90 % of single-client peak",
            c.aggregate_vs_peak,
            c.aggregate_vs_peak >= 0.9,
        )
        worst = max(abs(s - 1) for s in c.shares)
        add(
            f"{c.clients} clients: each within ±20 % of a fair share", round(worst, 2), worst <= 0.2
        )
    return rows


def _client_cpu_change(by: dict[str, VariantResult]) -> float | None:
    """Client CPU per frame with buckets + budgets over today's configuration's (same run)."""
    for name, v in by.items():
        native = by.get(sizes(SIZES_NATIVE, v.concurrency or 0))
        if name == sizes(SIZES_BUDGETS, v.concurrency or 0) and native:
            now, before = v.client_cpu_ms_per_frame, native.client_cpu_ms_per_frame
            return round(now / before, 2) if now and before else None
    return None
