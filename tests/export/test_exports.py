"""Exports: parity against the source frameworks, and clear failures when offline."""

import json
from pathlib import Path

import numpy as np
import pytest

from stashtag_core.errors import ExportError
from stashtag_core.presets import get_preset
from stashtag_export.onnx_io import run_onnx, sample_images


@pytest.mark.parametrize(
    ("model", "outputs"),
    [
        ("clip_image", ["clip_image:embedding", "clip_text_encoder:embedding"]),
        ("yolo", ["yolo:raw"]),
        ("dinov2", ["dinov2:cls", "dinov2:patch_mean"]),
        ("ocr_rec", ["ocr_det:prob", "ocr_rec:logits"]),
    ],
)
def test_meta_records_parity(tiny_repo, model, outputs):
    meta = json.loads((tiny_repo / model / "1" / "meta.json").read_text())
    assert {p["output"] for p in meta["parity"]} == {o.split(":")[1] for o in outputs}
    for p in meta["parity"]:
        assert p["min_cosine"] > 0.9999 and p["max_abs_diff"] < 1e-2


def test_clip_image_parity_independent(tiny_repo):
    """Re-check against open_clip with the same architecture and a fixed seed."""
    import torch

    from stashtag_export.clip import create_model
    from stashtag_export.onnx_io import normalized_image_module, torch_export

    arch = get_preset("tiny").clip
    torch.manual_seed(7)
    model = create_model(arch, random_weights=True)
    path = tiny_repo.parent / "clip_seed7.onnx"
    module = normalized_image_module(
        lambda x: model.encode_image(x, normalize=True), arch.mean, arch.std
    )
    images = sample_images(3, 224, seed=4)
    torch_export(module, (torch.from_numpy(images),), path, ["image"], ["embedding"])
    got = run_onnx(path, {"image": images})["embedding"]
    mean = torch.tensor(arch.mean).view(1, 3, 1, 1)
    std = torch.tensor(arch.std).view(1, 3, 1, 1)
    with torch.no_grad():
        x = (torch.from_numpy(images).float() / 255 - mean) / std
        want = model.encode_image(x, normalize=True).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_dynamic_batch_axis(tiny_repo):
    for batch in (1, 5):
        out = run_onnx(
            tiny_repo / "yolo" / "1" / "model.onnx", {"image": sample_images(batch, 640)}
        )
        assert out["raw"].shape == (batch, 84, 8400)


@pytest.mark.parametrize("model", ["yolo", "dinov2"])
def test_free_input_size(tiny_repo, model):
    """YOLO and DINOv2 take every bucket size: checked against the framework at the native
    square and at a bucket on export, and run here at every bucket."""
    from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE, dino_buckets, yolo_buckets

    meta = json.loads((tiny_repo / model / "1" / "meta.json").read_text())
    assert meta["free_size"] is True
    assert len(meta["parity"]) == 2 * (1 if model == "yolo" else 2)  # native and a bucket
    buckets = (
        yolo_buckets(640, DEFAULT_BUCKET_SCALE)
        if model == "yolo"
        else dino_buckets(224, DEFAULT_BUCKET_SCALE)
    )
    for w, h in buckets:
        out = run_onnx(tiny_repo / model / "1" / "model.onnx", {"image": sample_images(2, h, 0, w)})
        if model == "yolo":
            anchors = sum((w // s) * (h // s) for s in (8, 16, 32))
            assert out["raw"].shape == (2, 84, anchors)
        else:
            assert out["cls"].shape == (2, 64) and np.isfinite(out["cls"]).all()


def test_ocr_charset_written(tiny_repo):
    charset = (tiny_repo / "ocr_rec" / "1" / "charset.txt").read_text(encoding="utf-8")
    logits = run_onnx(
        tiny_repo / "ocr_rec" / "1" / "model.onnx",
        {"image": np.zeros((1, 3, 48, 320), np.float32)},
    )["logits"]
    # blank + dictionary + space: the rec head's classes
    assert logits.shape[-1] == len(charset.split("\n")) + 2


def test_real_weights_fail_clearly_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from stashtag_export.clip import export_clip

    with pytest.raises(ExportError, match="--random-weights"):
        export_clip(get_preset("small").clip, tmp_path, random_weights=False)


def test_tiny_preset_refuses_real_weights(tmp_path):
    from stashtag_export.pipeline import export_all

    with pytest.raises(ValueError, match="--random-weights"):
        export_all(get_preset("tiny"), tmp_path, random_weights=False, log=lambda _m: None)


def test_tensorrt_explains_when_missing(tmp_path):
    from stashtag_export.tensorrt import build_plans, tensorrt_available

    if tensorrt_available():
        pytest.skip("tensorrt is installed here")
    with pytest.raises(ExportError, match="needs the `tensorrt` Python package"):
        build_plans(tmp_path)


def test_fp16_variant_checked_against_fp32(tmp_path):
    import onnx

    from stashtag_export.pipeline import export_all

    meta = export_all(get_preset("tiny"), tmp_path, True, ("dinov2",), lambda _m: None, fp16=True)
    parity = meta["dinov2"]["fp16_parity"]
    assert {p["output"] for p in parity} == {"cls", "patch_mean"}
    assert all(p["min_cosine"] >= 0.999 for p in parity)
    graph = onnx.load(str(tmp_path / "dinov2" / "1" / "model.onnx")).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in graph.initializer)


def test_a_users_yolov8_onnx_goes_in_the_detector_slot(tmp_path, monkeypatch):
    """`--detector NAME=model.onnx`: an ultralytics ONNX export (random weights, 256², dynamic)
    is described from its own metadata, wrapped for uint8 frames and checked against itself."""
    from ultralytics import YOLO

    from stashtag.repo import parse_detector_flag
    from stashtag_export.detector import export_detector

    monkeypatch.chdir(tmp_path)
    source = Path(
        YOLO("yolov8n.yaml").export(format="onnx", imgsz=256, dynamic=True, simplify=False)
    )
    saved = parse_detector_flag(f"mine={source},pad=0")
    detector, where = saved.detector, saved.source
    assert (detector.name, detector.image_size, len(detector.classes)) == ("mine", 256, 80)
    assert detector.classes[:2] == ("0", "1")  # ultralytics names a dataset-less model so
    assert detector.pad == 0 and where == str(Path(source).resolve())
    meta = export_detector(detector, source, tmp_path / "repo")
    assert meta["parity"][0]["min_cosine"] > 0.9999 and len(meta["sha256"]) == 64
    raw = run_onnx(
        tmp_path / "repo" / "mine" / "1" / "model.onnx", {"image": sample_images(3, 256)}
    )
    assert raw["raw"].shape == (3, 84, detector.anchors)

    classes = tmp_path / "classes.txt"
    classes.write_text("a\nb\n")
    with pytest.raises(ExportError, match="not \\(batch, 4 \\+ 2 classes"):
        parse_detector_flag(f"mine={source},classes={classes}")
    with pytest.raises(ExportError, match="detector name 'yolo'"):
        parse_detector_flag(f"yolo={source}")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ExportError, match=r"junk\.onnx: not"):
        parse_detector_flag(f"junk={tmp_path / 'junk.onnx'}")


def test_the_content_detector_says_how_to_get_it(monkeypatch):
    import importlib.util

    from stashtag_export.detector import nudenet_source

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "nudenet" else real(n, *a)
    )
    with pytest.raises(ExportError, match=r"AGPL-3\.0.*pip install 'stashtag\[content\]'"):
        nudenet_source()
