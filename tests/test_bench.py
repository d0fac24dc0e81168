"""A small run of `stashtag bench`: every section produces sane numbers and files (no timing
asserts: the machine is noisy, timings are for the report)."""

import json

from stashtag.bench import run_bench, write_report
from stashtag.presets import get_preset


def test_bench_sections_and_files(tiny_repo, tmp_path):
    report = run_bench(
        tiny_repo,
        get_preset("tiny"),
        sprites=2,
        repeats=1,
        sweep=(1, 2),
        eager=True,
        log=lambda _m: None,
        grid=3,
    )
    names = [v.name for v in report.variants]
    assert names == [
        "onnxruntime in-process (batch = sprite)",
        "eager pytorch, one frame at a time",
        "triton, no dynamic batching, 1 in flight",
        "triton, dynamic batching, 1 in flight",
        "triton, dynamic batching, 2 in flight",
    ]
    for v in report.variants:
        assert v.fps_median > 0 and v.fps_min <= v.fps_median <= v.fps_max
    triton = [v for v in report.variants if v.name.startswith("triton")]
    assert all(v.mean_batch and 1 <= v.mean_batch <= 18 for v in triton)
    assert all(v.latency_ms["p50"] <= v.latency_ms["p99"] for v in triton)
    # one request in flight: no request waits behind another, so none takes the whole run
    sequential = triton[0]
    run_ms = 1000 * report.sprites * report.frames_per_request / sequential.fps_median
    assert sequential.latency_ms["p99"] < 0.8 * run_ms
    assert all(v.client_cpu_ms_per_frame is not None for v in triton)
    assert report.frames_per_request == 9 and 1000 < report.bytes_per_frame < 10_000
    assert len(report.ratios) == 3 and all(r > 0 for r in report.ratios.values())
    assert report.library_10k_minutes > 0 and report.weights == "random"
    json_path, md_path = write_report(report, tmp_path)
    assert json.loads(json_path.read_text())["preset"] == "tiny"
    assert "| variant | frames/s" in md_path.read_text()
