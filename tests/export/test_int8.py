"""int8 graphs (``repo build --int8``): the weight matmuls of CLIP's image graph and DINOv2 in
int8, checked against fp32, kept fp32 below the parity threshold, refused where they cannot run."""

import functools
import json
import shutil
from collections import Counter

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from stashtag.cli import app
from stashtag.repo import int8_models
from stashtag_core.errors import ExportError
from stashtag_core.presets import get_preset
from stashtag_export import pipeline
from stashtag_export.int8 import INT8_MIN_COSINE, quantize_int8
from stashtag_export.onnx_io import run_onnx
from stashtag_export.parity import compare

runner = CliRunner()


def _ops(path) -> Counter:
    return Counter(n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node)


def test_export_quantises_the_weight_matmuls_and_records_parity(tmp_path):
    meta = pipeline.export_all(
        get_preset("tiny"), tmp_path, True, ("clip", "dinov2"), lambda _m: None, int8=True
    )
    for exporter, model in (("clip", "clip_image"), ("dinov2", "dinov2")):
        quant = meta[exporter]["int8"][model]
        assert quant["applied"], quant
        assert min(p["min_cosine"] for p in quant["parity"]) >= INT8_MIN_COSINE
        ops = _ops(tmp_path / model / "1" / "model.onnx")
        assert ops["MatMulInteger"] > 0, model
        # attention's activation × activation products stay fp32
        assert ops["MatMul"] > 0, model
        written = json.loads((tmp_path / model / "1" / "meta.json").read_text())
        assert written["int8"] == meta[exporter]["int8"]
    # DINOv2 takes any size: checked at its square and at a 16:9 bucket
    outputs = {p["output"] for p in meta["dinov2"]["int8"]["dinov2"]["parity"]}
    assert {"cls at 224x224", "cls at 224x126"} <= outputs
    # the text encoder runs once per vocabulary: it stays fp32
    assert _ops(tmp_path / "clip_text_encoder" / "1" / "model.onnx")["MatMulInteger"] == 0
    assert int8_models(tmp_path) == ["clip_image", "dinov2"]


def test_below_the_threshold_the_graph_stays_fp32(tmp_path, monkeypatch):
    strict = functools.partial(quantize_int8, min_cosine=1.0)  # nothing int8 is that exact
    monkeypatch.setattr(pipeline, "quantize_int8", strict)
    log = []
    meta = pipeline.export_all(
        get_preset("tiny"), tmp_path, True, ("dinov2",), log.append, int8=True
    )
    quant = meta["dinov2"]["int8"]["dinov2"]
    assert not quant["applied"] and "it stays fp32" in quant["reason"]
    assert any("int8 parity too low" in m for m in log)
    assert _ops(tmp_path / "dinov2" / "1" / "model.onnx")["MatMulInteger"] == 0
    assert int8_models(tmp_path) == []


def test_refusal_leaves_the_file_as_it_was(tiny_repo, tmp_path):
    path = tmp_path / "model.onnx"
    shutil.copyfile(tiny_repo / "dinov2" / "1" / "model.onnx", path)
    before = path.read_bytes()
    with pytest.raises(ExportError, match=r"dinov2|min cosine .* \(needs 1.0\)"):
        quantize_int8(path, min_cosine=1.0)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # no leftovers


def _photos(h: int, w: int) -> np.ndarray:
    import cv2

    from stashtag.demo.photos import PHOTOS, photo

    return np.stack([cv2.resize(photo(n), (w, h), interpolation=cv2.INTER_AREA) for n in PHOTOS])


@pytest.mark.parametrize(("model", "size"), [("clip_image", (224, 224)), ("dinov2", (126, 224))])
def test_int8_embeddings_of_real_photographs_stay_close(tiny_repo, tmp_path, model, size):
    """On photographs the quantiser never saw, every embedding stays within the threshold."""
    fp32 = tiny_repo / model / "1" / "model.onnx"
    path = tmp_path / "model.onnx"
    shutil.copyfile(fp32, path)
    quantize_int8(path)
    feed = {"image": _photos(*size).transpose(0, 3, 1, 2).copy()}
    want, got = run_onnx(fp32, feed), run_onnx(path, feed)
    for name in want:
        assert compare(name, got[name], want[name]).min_cosine >= INT8_MIN_COSINE, name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "python-torch"], "the python-torch target runs TorchScript"),
        (["--target", "tensorrt"], "the tensorrt target runs TensorRT plans"),
        (["--no-export"], "--int8 rewrites the exported graphs"),
        (["--gpus", "0"], "runs its graph models on GPUs 0"),
        (["--fp16"], "not with fp16"),
    ],
)
def test_int8_refused_where_it_cannot_run(tmp_path, args, message):
    build = ["repo", "build", "--preset", "tiny", "--random-weights", "--repo", str(tmp_path)]
    result = runner.invoke(app, [*build, "--int8", *args])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split()), result.output
    assert not (tmp_path / "clip_image" / "1" / "model.onnx").exists()


def test_repo_build_remembers_int8_until_told_otherwise(tmp_path):
    build = ["repo", "build", "--preset", "tiny", "--random-weights", "--repo", str(tmp_path)]
    graph = tmp_path / "dinov2" / "1" / "model.onnx"
    result = runner.invoke(app, [*build, "--only", "dinov2", "--int8"])
    assert result.exit_code == 0, result.output
    assert "int8 graphs (CPU): dinov2" in result.output and _ops(graph)["MatMulInteger"]
    result = runner.invoke(app, [*build, "--only", "dinov2"])  # a later export: int8 again
    assert result.exit_code == 0, result.output
    assert _ops(graph)["MatMulInteger"] and int8_models(tmp_path) == ["dinov2"]
    # a saved int8 refuses GPUs like the flag does, naming the way back
    result = runner.invoke(app, [*build, "--only", "dinov2", "--gpus", "0"])
    assert result.exit_code != 0 and "was built with --int8: add --no-int8" in result.output
    result = runner.invoke(app, [*build, "--only", "dinov2", "--no-int8"])
    assert result.exit_code == 0, result.output
    assert not _ops(graph)["MatMulInteger"] and int8_models(tmp_path) == []


def test_a_malformed_int8_setting_names_the_file(tmp_path):
    from stashtag.repo import SETTINGS_FILE, RepoSettings

    (tmp_path / SETTINGS_FILE).write_text('{"int8": "yes"}')
    with pytest.raises(ValueError, match=r"stashtag-settings.json: int8: expected true or false"):
        RepoSettings.load(tmp_path)
    build = ["repo", "build", "--preset", "tiny", "--no-export", "--repo", str(tmp_path)]
    result = runner.invoke(app, build)
    assert result.exit_code != 0 and "int8: expected true or false" in result.output
