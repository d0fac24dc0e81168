"""The python-torch target: the same ensemble with the graphs run by PyTorch (TorchScript) in
the python backend. On this CPU machine it must agree with the python-ort target."""

from __future__ import annotations

import numpy as np
import pytest

from stashtag.bench.triton_runs import derived_repo
from stashtag.repo import missing_files, parse_config, specs_for
from stashtag.server import ServerOptions, TritonServer, free_port
from stashtag_client.inference.grpc_client import ServerError
from stashtag_client.inference.triton import TritonClient
from stashtag_core.errors import ExportError
from stashtag_core.presets import get_preset


@pytest.fixture(scope="module")
def torch_server(tiny_repo, tmp_path_factory):
    preset = get_preset("tiny")
    tmp = tmp_path_factory.mktemp("torch")
    repo = derived_repo(tiny_repo, tmp / "repo", preset, lambda s: s, target="python-torch")
    assert missing_files(repo, specs_for(repo, preset), "python-torch") == []
    opts = ServerOptions(repo, free_port(), free_port(), free_port(), log_file=tmp / "t.log")
    with TritonServer(opts) as server:
        yield server


@pytest.fixture(scope="module")
def native_client(tiny_repo, tmp_path_factory):
    """python-ort at the native squares: the torch target has no input-size buckets."""
    tmp = tmp_path_factory.mktemp("native")
    repo = derived_repo(tiny_repo, tmp / "repo", get_preset("tiny"), lambda s: s, bucket_scale=0)
    opts = ServerOptions(repo, free_port(), free_port(), free_port(), log_file=tmp / "t.log")
    with TritonServer(opts) as server:
        yield TritonClient(server.options.grpc_url)


def test_configs_run_torchscript_for_the_graphs(torch_server):
    repo = torch_server.options.repo
    for name in ("clip_image", "clip_text_encoder", "yolo", "dinov2"):
        cfg = parse_config((repo / name / "config.pbtxt").read_text())
        assert cfg.backend == "python"
        assert cfg.parameters["torch_file"].string_value == "model.pt"
        assert "stashtag.serving.torch_model" in (repo / name / "1" / "model.py").read_text()
    ocr = parse_config((repo / "ocr_det" / "config.pbtxt").read_text())
    assert ocr.parameters["onnx_file"].string_value == "model.onnx"  # PP-OCR stays ONNX


def test_python_torch_agrees_with_python_ort(torch_server, native_client, small_sprite):
    jpeg, rects = small_sprite
    want = native_client.tag_frames(jpeg, rects, detectors=["content"])
    got = TritonClient(torch_server.options.grpc_url).tag_frames(jpeg, rects, detectors=["content"])
    np.testing.assert_allclose(got.clip, want.clip, atol=1e-4)
    np.testing.assert_allclose(got.dino_cls, want.dino_cls, atol=1e-3)
    np.testing.assert_allclose(got.dino_patch_mean, want.dino_patch_mean, atol=1e-3)
    assert [len(d) for d in got.detections] == [len(d) for d in want.detections]
    for g, w in zip(got.detected["content"], want.detected["content"], strict=True):
        np.testing.assert_allclose(g, w, atol=1e-3)
    for g, w in zip(got.detections, want.detections, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-2)
    text = TritonClient(torch_server.options.grpc_url).embed_text(["a beach", "a kitchen"])
    want = native_client.embed_text(["a beach", "a kitchen"])
    np.testing.assert_allclose(text, want, atol=1e-4)


def test_a_trace_that_depends_on_the_batch_is_refused(tmp_path):
    import torch

    from stashtag_export.onnx_io import torchscript_export

    class BatchBaked(torch.nn.Module):
        def forward(self, x):
            return x * int(x.shape[0])  # a python int: frozen into the trace

    with pytest.raises(ExportError, match="differs from the model"):
        torchscript_export(BatchBaked(), (torch.ones(2, 3),), tmp_path / "model.pt")


def test_configs_name_the_cuda_graph_batches(torch_server):
    from stashtag.serving.cuda_graphs import parse_batches

    cfg = parse_config((torch_server.options.repo / "clip_image" / "config.pbtxt").read_text())
    assert parse_batches(cfg.parameters["cuda_graph_batches"].string_value) == (1, 2, 4, 8, 16, 32)


def _tiny_model():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.LayerNorm(6), torch.nn.Flatten(), torch.nn.Linear(96, 5)
    ).eval()
    example = torch.rand(2, 3, 6, 8)
    return torch.jit.trace(net, example), net


def test_static_batches_pad_into_captured_sizes_and_agree_with_the_model():
    """The buffer logic of the CUDA-graph path, with a CPU stand-in for the capture: every batch
    size (inside a captured size, on its own, above them all) gives the model's own output,
    and rows left in a buffer by an earlier, larger batch never leak into a later answer."""
    import torch

    from stashtag.serving.cuda_graphs import StaticBatches, capture_eager

    traced, net = _tiny_model()
    captured = []

    def capture(fn, static):
        captured.append(static[0].shape[0])
        return capture_eager(fn, static)

    run = StaticBatches(traced, (1, 2, 4), capture)
    with torch.inference_mode():
        for n in (3, 1, 4, 2, 6, 3, 2, 1):
            x = torch.rand(n, 3, 6, 8)
            (got,) = run(x)
            assert got.shape == (n, 5)
            torch.testing.assert_close(got, net(x), atol=1e-5, rtol=1e-5)
    assert captured == [4, 1, 2]  # each size once, on first use; 6 ran without a graph


def test_a_failed_capture_falls_back_to_running_eagerly(caplog):
    import torch

    from stashtag.serving.cuda_graphs import StaticBatches, parse_batches

    traced, net = _tiny_model()

    def refuse(fn, static):
        raise RuntimeError("operation not permitted when stream is capturing")

    run = StaticBatches(traced, (4,), refuse)
    with torch.inference_mode():
        x = torch.rand(3, 3, 6, 8)
        torch.testing.assert_close(run(x)[0], net(x))
        torch.testing.assert_close(run(x)[0], net(x))  # not tried again
    assert "no CUDA graph" in caplog.text and caplog.text.count("no CUDA graph") == 1
    assert parse_batches("") == () and parse_batches(" 8, 1,2 ") == (1, 2, 8)
    with pytest.raises(ValueError, match="batch sizes like"):
        parse_batches("1,two")


def test_device_resize_agrees_with_preprocess_resizing(
    tiny_repo, tmp_path, native_client, small_sprite
):
    """repo build --device-resize: preprocess sends frames at their own size, each graph model
    resizes them (in PyTorch, on its device); the answers match the python-ort ones."""
    from stashtag_core.modelspec import with_device_resize

    preset = get_preset("tiny")
    repo = derived_repo(tiny_repo, tmp_path / "repo", preset, with_device_resize, "python-torch")
    pre = parse_config((repo / "preprocess" / "config.pbtxt").read_text())
    # detectors (ONNX Runtime graphs) still get their letterboxed frames from preprocess
    assert [o.name for o in pre.output] == [
        "frames",
        "yolo_letterbox",
        "content_image",
        "content_letterbox",
    ]
    yolo = parse_config((repo / "yolo" / "config.pbtxt").read_text())
    assert yolo.parameters["resize"].string_value == f"letterbox:{preset.yolo.image_size}"
    assert list(yolo.input[0].dims) == [3, -1, -1]
    jpeg, rects = small_sprite
    want = native_client.tag_frames(jpeg, rects, detectors=["content"])
    opts = ServerOptions(repo, free_port(), free_port(), free_port(), log_file=tmp_path / "t.log")
    mixed = np.array(rects)
    mixed[1, 2:] = (100, 60)  # one frame of another size
    with TritonServer(opts) as server:
        got = TritonClient(server.options.grpc_url).tag_frames(jpeg, rects, detectors=["content"])
        with pytest.raises(ServerError, match="frame 1 is 100x60"):
            TritonClient(server.options.grpc_url).tag_frames(jpeg, mixed)
    np.testing.assert_allclose(got.clip, want.clip, atol=2e-3)
    np.testing.assert_allclose(got.dino_cls, want.dino_cls, atol=2e-2, rtol=1e-2)
    assert [len(d) for d in got.detections] == [len(d) for d in want.detections]
    for g, w in zip(got.detected["content"], want.detected["content"], strict=True):
        np.testing.assert_allclose(g, w, atol=1e-3)  # host-letterboxed in both


def test_device_resize_is_refused_for_other_targets(tmp_path):
    from stashtag.repo import write_configs
    from stashtag_core.modelspec import build_specs, with_device_resize

    specs = with_device_resize(build_specs(get_preset("tiny")))
    with pytest.raises(ValueError, match="only the python-torch target"):
        write_configs(tmp_path, specs, "python-ort")
