"""Small runs of `stashtag bench`: every section produces sane numbers and files (no timing
asserts: the machine is noisy, timings are for the report)."""

import json
import time
from dataclasses import replace

import pytest

from stashtag.bench import compare, run_bench, tune, write_report
from stashtag.bench.detectors import without_name
from stashtag.bench.measure import bench_sprites
from stashtag.bench.report import (
    BUCKETS_RATIO,
    BUDGETS_RATIO,
    INT8_RATIO,
    NULL,
    PLAIN_FRAMES,
    SIZES_BUCKETS,
    SIZES_BUDGETS,
    SIZES_INT8,
    SIZES_NATIVE,
    best_dynamic,
    dynamic_frames,
    library_minutes,
    sizes,
    to_markdown,
)
from stashtag.bench.triton_runs import derived_repo
from stashtag.repo import SETTINGS_FILE, RepoSettings, parse_config
from stashtag_core.modelspec import Tuning
from stashtag_core.presets import get_preset


@pytest.fixture(scope="module")
def report(tiny_repo):
    return run_bench(
        tiny_repo,
        get_preset("tiny"),
        sprites=2,
        repeats=1,
        sweep=(1, 2),
        eager=True,
        log=lambda _m: None,
        grid=3,
        frame_limit=6,
        clients=2,
        client_concurrency=2,
        client_loops=2,
        null_loops=3,
    )


def test_every_variant_measured(report):
    assert [v.name for v in report.variants] == [
        "onnxruntime in-process (batch = sprite)",
        "eager pytorch, one frame at a time",
        "triton, no dynamic batching, 1 in flight",
        "triton, dynamic batching, 1 in flight",
        "triton, dynamic batching, 2 in flight",
        PLAIN_FRAMES,
        dynamic_frames(2),
        "content detector alone, 2 in flight",
        without_name(report_best(report).concurrency),
        sizes(SIZES_NATIVE, report_best(report).concurrency),
        sizes(SIZES_BUCKETS, report_best(report).concurrency),
        sizes(SIZES_BUDGETS, report_best(report).concurrency),
        sizes(SIZES_INT8, report_best(report).concurrency),
        NULL,
    ]
    for v in report.variants:
        assert v.fps_median > 0 and v.fps_min <= v.fps_median <= v.fps_max
    triton = [v for v in report.variants if v.name.startswith("triton")]
    assert all(v.mean_batch and 1 <= v.mean_batch <= 18 for v in triton)
    assert all(v.latency_ms["p50"] <= v.latency_ms["p99"] for v in triton)
    assert all(v.latencies_ms == sorted(v.latencies_ms) and v.latencies_ms for v in triton)
    # one request in flight: no request waits behind another, so none takes the whole run
    sequential = triton[0]
    run_ms = 1000 * report.sprites * report.frames_per_request / sequential.fps_median
    assert sequential.latency_ms["p99"] < 0.8 * run_ms
    assert all(v.client_cpu_ms_per_frame is not None for v in triton)
    assert all(v.server_cpu_pct is not None and v.server_cpu_pct > 0 for v in triton)
    # per-frame requests carry one frame each: never a batch above the requests in flight
    by = {v.name: v for v in report.variants}
    assert by[PLAIN_FRAMES].mean_batch == 1
    assert 1 <= by[dynamic_frames(2)].mean_batch <= 2


def report_best(report):
    return best_dynamic(report.variants)


def test_extra_detector_measured_alone_and_as_its_share_of_the_tagger(report):
    """The tiny repository carries NudeNet's detector: its model alone at 320² and the tagger at
    the best setting without it, from which what it adds per frame follows."""
    by = {v.name: v for v in report.variants}
    alone = by["content detector alone, 2 in flight"]
    assert alone.fps_median > 0 and 9 <= alone.mean_batch <= 18  # 9-frame sprites, 2 in flight
    (cost,) = report.detectors
    best = report_best(report)
    without = by[without_name(best.concurrency)]
    assert (cost["name"], cost["alone_fps"]) == ("content", alone.fps_median)
    assert (cost["tagger_fps"], cost["tagger_without_fps"]) == (best.fps_median, without.fps_median)
    added = 1000 / best.fps_median - 1000 / without.fps_median
    assert cost["rate_ms_per_frame"] == pytest.approx(added, abs=0.01)
    computed = {m["name"]: m["compute_s"] for m in report.compute["models"]}
    share = computed["content"] / sum(computed.values())
    assert 0 < cost["compute_share"] == pytest.approx(share, abs=1e-3)
    assert "## Extra detectors" in to_markdown(report) and "| content |" in to_markdown(report)


def test_compute_against_the_machines_peak(report):
    """The final pass: each graph model ran once per tagged frame (Triton's own counts), with
    its operations counted from the graph; the pipeline's share of the matmul peak follows."""
    c = report.compute
    assert c["peak_gflops"] > 0
    by = {m["name"]: m for m in c["models"]}
    assert set(by) == {"clip_image", "yolo", "dinov2", "content"}
    # OCR is asked apart by the client, never by a tagger request: counted, shown as not run
    assert c["not_run"]["ocr_det"] == pytest.approx(20.43, abs=0.01)  # one cell at 1312×736
    frames = report.sprites * report.frames_per_request  # 2 sprites × 9 cells
    for name in ("clip_image", "yolo", "dinov2", "content"):
        assert by[name]["items"] == frames, name
        assert by[name]["compute_s"] > 0 and by[name]["achieved_gflops"] > 0
    # YOLOv8n at its bucket for a 160x90 cell, 320x192 (8.74 at 640²); DINOv2 at 224x126
    assert by["yolo"]["gflop_per_item"] == pytest.approx(8.74 * 320 * 192 / 640**2, rel=0.02)
    # NudeNet at its bucket, 320x192 (2.03 at its 320² square)
    assert by["content"]["gflop_per_item"] == pytest.approx(2.03 * 192 / 320, rel=0.02)
    per_frame = sum(m["gflop_per_item"] * m["items"] for m in c["models"]) / frames
    assert c["gflop_per_frame"] == pytest.approx(per_frame, abs=0.01)
    assert c["pipeline_of_peak"] == pytest.approx(c["pipeline_gflops"] / c["peak_gflops"], abs=1e-3)
    assert "## Compute against the machine's limit" in to_markdown(report)
    # the batching server's memory was sampled while it served (tiny preset: well under 24 GB)
    assert 0.1 < report.server_peak_gb < 24


def test_todays_configuration_against_buckets_and_budgets_interleaved(report):
    """Native squares with every model on every frame, buckets, buckets + frame budgets: in
    one phase, on the same sprites; the budget variant's models saw only their frames."""
    by = {v.name: v for v in report.variants}
    c = report_best(report).concurrency
    native, buckets = by[sizes(SIZES_NATIVE, c)], by[sizes(SIZES_BUCKETS, c)]
    budgets = by[sizes(SIZES_BUDGETS, c)]
    assert min(native.fps_median, buckets.fps_median, budgets.fps_median) > 0
    assert report.ratios[BUCKETS_RATIO] == round(buckets.fps_median / native.fps_median, 2)
    assert report.ratios[BUDGETS_RATIO] == round(budgets.fps_median / native.fps_median, 2)
    assert report.frame_budget == {"clip": 1, "yolo": 3, "dino": 2, "content": 3}
    # + int8: the same budgets on a server whose CLIP image graph and DINOv2 were quantised
    int8 = by[sizes(SIZES_INT8, report_best(report).concurrency)]
    assert report.int8 == ["clip_image", "dinov2"] and int8.fps_median > 0
    assert report.ratios[INT8_RATIO] == round(int8.fps_median / native.fps_median, 2)
    assert "The + int8 variant adds clip_image, dinov2" in to_markdown(report)
    default = f"(the client's default): **{library_minutes(budgets.fps_median)} minutes**"
    assert default in to_markdown(report)
    c = report.configurations
    assert c["native"] > c["buckets"] > c["budgets"] > 0
    assert c["models"]["yolo"]["native"] == pytest.approx(8.74, abs=0.01)  # YOLOv8n at 640²
    assert c["models"]["yolo"]["bucket"] == pytest.approx(8.74 * 320 * 192 / 640**2, rel=0.02)
    share = {"clip_image": 1, "yolo": 27 / 81, "dinov2": 41 / 81, "content": 27 / 81}
    want = sum(c["models"][m]["bucket"] * f for m, f in share.items())
    assert c["budgets"] == pytest.approx(want, abs=0.02)
    assert "## Work per tagged frame, by configuration" in to_markdown(report)
    assert any(t["target"].startswith("buckets + frame budgets") for t in report.targets)
    client = next(t for t in report.targets if t["target"].startswith("client CPU per frame"))
    now, before = budgets.client_cpu_ms_per_frame, native.client_cpu_ms_per_frame
    assert client["value"] == round(now / before, 2)


def test_client_alone_and_several_clients(report):
    null = next(v for v in report.variants if v.name == NULL)
    assert null.mean_batch is None  # no model ran
    assert 0 < null.client_cpu_ms_per_frame < 50
    c = report.clients
    assert c.clients == 2 and len(c.client_fps) == 2 and all(f > 0 for f in c.client_fps)
    # the run's aggregate can't exceed the sum of the clients' own rates
    assert 0 < c.aggregate_fps <= sum(c.client_fps) * 1.01
    assert sum(c.shares) == pytest.approx(len(c.shares), abs=0.02) and c.window_s > 0
    assert c.aggregate_vs_peak == pytest.approx(c.aggregate_fps / c.single_client_peak_fps, 0.02)


def test_fair_shares_count_only_the_common_window():
    from stashtag.bench.triton_runs import fair_shares

    # client a starts first and finishes last; only time while both were sending counts
    a = (40, 0.0, 10.0, [(0.0, 1.0, 10), (1.0, 3.0, 10), (3.0, 5.0, 10), (5.0, 9.5, 10)])
    b = (10, 2.0, 6.0, [(2.0, 6.0, 10)])
    shares, window = fair_shares([a, b])
    # window 2..6: a serves 5 (half of 1..3) + 10 + 10·1/4.5; b serves 10
    a_frames = 5 + 10 + 10 / 4.5
    assert window == 4.0
    assert shares == [
        round(a_frames / ((a_frames + 10) / 2), 2),
        round(10 / ((a_frames + 10) / 2), 2),
    ]


def test_ratios_targets_and_files(report, tmp_path):
    assert report.frames_per_request == 9 and 1000 < report.bytes_per_frame < 10_000
    assert len(report.ratios) == 7 and all(r > 0 for r in report.ratios.values())
    assert report.library_10k_minutes > 0 and report.weights == "random"
    names = [t["target"] for t in report.targets]
    assert len(names) == 11 and all(isinstance(t["met"], bool) for t in report.targets)
    paths = write_report(report, tmp_path)
    assert sorted(p.name for p in paths) == [
        "bench.json",
        "bench.md",
        "latency_cdf.png",
        "throughput.png",
    ]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths if p.suffix == ".png")
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["preset"] == "tiny" and data["clients"]["clients"] == 2
    md = (tmp_path / "bench.md").read_text()
    assert "| variant | frames/s" in md and "## Targets" in md and "throughput.png" in md


def test_compare_reports_the_change(report):
    previous = json.loads(json.dumps({"preset": "tiny", "variants": [], "ratios": {}}))
    previous["variants"] = [
        {"name": v.name, "fps_median": v.fps_median / 2} for v in report.variants[:2]
    ] + [{"name": "gone variant", "fps_median": 1.0}]
    text = compare(previous, report)
    assert text.count("+100.0 %") == 2
    assert "Not measured this time: gone variant" in text


def test_tune_writes_the_best_settings(tiny_repo, tmp_path):
    preset = get_preset("tiny")
    repo = derived_repo(tiny_repo, tmp_path / "repo", preset, lambda specs: specs)
    result = tune(
        repo,
        preset,
        bench_sprites(2, grid=3),
        concurrency=2,
        axes={"max_queue_delay_us": [500], "instances": [2]},
        log=lambda _m: None,
    )
    assert len(result.trials) == 3 and all(t["fps"] > 0 for t in result.trials)
    assert result.chosen in [t["settings"] for t in result.trials]
    assert result.chosen_fps == max(
        t["fps"] for t in result.trials if t["settings"] == result.chosen
    )
    saved = RepoSettings.load(repo).tuning
    assert saved == Tuning(**{**result.chosen, "preferred": tuple(result.chosen["preferred"])})
    cfg = parse_config((repo / "clip_image" / "config.pbtxt").read_text())
    assert cfg.instance_group[0].count == saved.instances
    assert cfg.dynamic_batching.max_queue_delay_microseconds == saved.max_queue_delay_us


def test_tuning_file_errors_are_clear(tmp_path):
    (tmp_path / SETTINGS_FILE).write_text('{"tuning": {"max_batch_size": 16}}')
    with pytest.raises(ValueError, match=r"settings\.json: tuning: max_batch_size 16 is below"):
        RepoSettings.load(tmp_path)
    (tmp_path / SETTINGS_FILE).write_text('{"tuning": {"delay": 1}}')
    with pytest.raises(ValueError, match="delete the section to go back to the defaults"):
        RepoSettings.load(tmp_path)
    with pytest.raises(ValueError, match="preferred sizes"):
        replace(Tuning(), preferred=(256,))


FAKE_NVIDIA_SMI = """#!/bin/sh
# two GPUs, as `nvidia-smi --query-gpu=index,utilization.gpu,memory.used
# --format=csv,noheader,nounits --loop-ms=N` prints them, until stopped
echo "$@" > "$(dirname "$0")/args"
while true; do
  echo "0, 50, 1000"
  echo "1, 70, 2000"
  echo "[N/A]"
  sleep 0.05
done
"""


def test_gpu_sampler_reads_nvidia_smi(tmp_path, monkeypatch):
    from stashtag.bench.gpu import GpuSampler

    exe = tmp_path / "nvidia-smi"
    exe.write_text(FAKE_NVIDIA_SMI)
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with GpuSampler(period_ms=50) as both:
        time.sleep(0.4)
    with GpuSampler(period_ms=50, gpus=(1,)) as second:
        time.sleep(0.4)
    assert "--loop-ms=50" in (tmp_path / "args").read_text()
    assert both.usage.samples >= 4 and both.usage.util_pct == pytest.approx(60, abs=5)
    assert both.usage.mem_mib == 2000
    assert second.usage.util_pct == 70 and second.usage.mem_mib == 2000


def test_no_gpu_means_no_figures_not_zeros(tmp_path, monkeypatch):
    from stashtag.bench.gpu import GpuSampler, parse_line

    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi anywhere
    with GpuSampler() as gpu:
        pass
    assert gpu.usage is None
    assert parse_line("[N/A]") is None and parse_line("0, [N/A], 12") is None
    assert parse_line(" 3, 99, 40960 ") == (3, 99.0, 40960.0)


def test_gpu_columns_only_when_measured(report):
    from stashtag.bench import to_markdown

    assert "GPU util" not in to_markdown(report)  # this machine has no GPU: nothing invented
    variants = [replace(v, gpu_util_pct=88.5, gpu_mem_mib=5120.0) for v in report.variants]
    text = to_markdown(replace(report, variants=variants))
    assert "| GPU util % | GPU MiB |" in text and "| 88.5 | 5120.0 |" in text


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="checks the refusal on a machine without GPU"
)
def test_cuda_baselines_refused_without_a_gpu():
    from stashtag.bench.baselines import resolve_device

    assert resolve_device("auto") == "cpu"
    with pytest.raises(ValueError, match="sees no GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        resolve_device("tpu")


def test_flops_only_counts_without_timing(tiny_repo):
    from typer.testing import CliRunner

    from stashtag.cli import app

    result = CliRunner().invoke(app, ["bench", "--repo", str(tiny_repo), "--flops-only"])
    assert result.exit_code == 0, result.output
    assert "| yolo | 8.7" in result.output  # YOLOv8n at 640², then at its bucket
    assert "Per tagged frame: today's configuration" in result.output
