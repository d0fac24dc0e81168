"""The benchmark's plots: throughput against requests in flight, and the latency CDF."""

from __future__ import annotations

from pathlib import Path


def plot(report, out: Path, baselines: tuple[tuple[str, str], ...] = ()) -> list[Path]:
    """Throughput vs concurrency (``baselines``: (variant, colour) drawn as lines) and the
    latency CDF of a BenchReport as PNGs; [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    by = {v.name: v for v in report.variants}
    sweep = sorted(
        (
            v
            for v in report.variants
            if v.name.startswith("triton, dynamic batching") and v.concurrency
        ),
        key=lambda v: (("per-frame" in v.name), v.concurrency),
    )
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for per_frame, style in ((False, "o-"), (True, "s--")):
        pts = [v for v in sweep if ("per-frame" in v.name) == per_frame]
        if pts:
            ax.errorbar(
                [v.concurrency for v in pts],
                [v.fps_median for v in pts],
                yerr=[
                    [v.fps_median - v.fps_min for v in pts],
                    [v.fps_max - v.fps_median for v in pts],
                ],
                fmt=style,
                capsize=3,
                label="dynamic batching" + (", per-frame requests" if per_frame else ", sprites"),
            )
    for name, color in baselines:
        if name in by:
            ax.axhline(by[name].fps_median, color=color, linestyle=":", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("requests in flight")
    ax.set_ylabel("frames / s")
    ax.set_title(f"Throughput vs concurrency — {report.preset}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = [out / "throughput.png"]
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for v in report.variants:
        if v.latencies_ms:
            n = len(v.latencies_ms)
            ax.step(v.latencies_ms, [(i + 1) / n for i in range(n)], where="post", label=v.name)
    ax.set_xscale("log")
    ax.set_xlabel("latency per request (ms)")
    ax.set_ylabel("fraction of requests")
    ax.set_title("Latency CDF")
    ax.legend(fontsize=6)
    fig.tight_layout()
    paths.append(out / "latency_cdf.png")
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths
