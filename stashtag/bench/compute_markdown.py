"""The report's compute sections in Markdown: the machine's limit, and the work per frame
of each configuration."""

from __future__ import annotations


def configuration_lines(c: dict) -> list[str]:
    """The work per tagged frame of today's configuration, buckets, buckets + budgets."""
    every = ", ".join(f"{m} {n}" for m, n in c["budget"].items())
    lines = [
        "",
        "## Work per tagged frame, by configuration (counted from the graphs)",
        "",
        "| model | native square, GFLOP | sprite cell's bucket, GFLOP |",
        "|---|---|---|",
    ]
    lines += [f"| {m} | {v['native']} | {v['bucket']} |" for m, v in c["models"].items()]
    lines += [
        "",
        f"Per tagged frame: today's configuration {c['native']} GFLOP, buckets {c['buckets']},"
        f" buckets + frame budgets (every n-th frame: {every}) {c['budgets']} —"
        f" {c['native'] / max(c['budgets'], 1e-9):.2f}× less work.",
    ]
    return lines


def compute_lines(c: dict) -> list[str]:
    """Each graph model's achieved rate against the machine's matmul peak."""
    lines = [
        "",
        "## Compute against the machine's limit",
        "",
        f"Matmul peak ({c['peak_on']}; on the CPU with ONNX Runtime's default threads, as the"
        f" server's sessions): **{c['peak_gflops']} GFLOP/s**. One more pass at the best"
        " setting, Triton's compute time per model (Conv/MatMul/Gemm operations counted from"
        " each graph):",
        "",
        "| model | GFLOP per item | items | compute s | achieved GFLOP/s | of peak |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m['name']} | {m['gflop_per_item']} | {m['items']} | {m['compute_s']} |"
        f" {m['achieved_gflops']} | {m['of_peak'] * 100:.0f} % |"
        for m in c["models"]
    ]
    lines += [
        "",
        f"Per tagged frame: **{c['gflop_per_frame']} GFLOP**; the pipeline ran"
        f" {c['pipeline_gflops']} GFLOP/s = **{c['pipeline_of_peak'] * 100:.0f} %** of the peak.",
    ]
    if c.get("not_run"):
        lines += [
            "",
            "Not run by the tagger requests measured here (the client asks OCR apart), GFLOP per"
            " item: " + ", ".join(f"{k} {v}" for k, v in c["not_run"].items()) + ".",
        ]
    return lines
