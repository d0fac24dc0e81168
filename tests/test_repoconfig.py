"""The committed model_repository/ is exactly what the model specs generate."""

from pathlib import Path

import pytest

from stashtag.repo import parse_config, render_config, write_configs
from stashtag_core.modelspec import TARGETS, build_specs, spec_by_name
from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE
from stashtag_core.presets import PRESETS, get_preset

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "model_repository"


def test_committed_repository_in_sync(tmp_path):
    specs = build_specs(get_preset("small"), bucket_scale=DEFAULT_BUCKET_SCALE)
    written = write_configs(tmp_path, specs, "python-ort")
    for path in written:
        rel = path.relative_to(tmp_path)
        committed = COMMITTED / rel
        assert committed.is_file(), f"{rel} is generated but not committed"
        assert committed.read_text() == path.read_text(), (
            f"{rel} differs from the specs: run `stashtag repo build --preset small --no-export`"
        )
    generated = {p.relative_to(tmp_path) for p in written}
    stray = {
        p.relative_to(COMMITTED)
        for p in COMMITTED.rglob("*")
        if p.is_file() and (p.name in {"config.pbtxt", "model.py", ".gitkeep"})
    }
    assert stray <= generated, f"committed files no spec generates: {stray - generated}"


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("target", TARGETS)
def test_configs_parse_and_ensembles_are_consistent(preset, target):
    specs = build_specs(get_preset(preset))
    for spec in specs:
        cfg = parse_config(render_config(spec, target))
        assert cfg.name == spec.name
        if spec.batching and spec.kind != "ensemble":
            assert cfg.max_batch_size > 0 and cfg.HasField("dynamic_batching")
    for ens in (s for s in specs if s.kind == "ensemble"):
        produced = {t.name: t for t in ens.inputs}
        for step in ens.steps:
            model = spec_by_name(specs, step.model)
            for inner, outer in step.inputs.items():
                assert outer in produced, f"{ens.name}: {outer} used before it is produced"
                assert produced[outer].dtype == model.input(inner).dtype
            for inner, outer in step.outputs.items():
                produced[outer] = model.output(inner)
        for out in ens.outputs:
            assert out.name in produced and produced[out.name].dtype == out.dtype


def test_frames_fit_downstream_batch():
    specs = build_specs(get_preset("small"))
    pre = spec_by_name(specs, "preprocess")
    limit = int(pre.parameters["max_frames"])
    for name in ("clip_image", "yolo", "yolo_post", "dinov2"):
        assert spec_by_name(specs, name).batching.max_batch_size >= max(limit, 81)


def test_onnxruntime_target_uses_tensorrt_accelerator():
    spec = spec_by_name(build_specs(get_preset("large")), "clip_image")
    cfg = parse_config(render_config(spec, "onnxruntime"))
    assert cfg.platform == "onnxruntime_onnx"
    accel = cfg.optimization.execution_accelerators.gpu_execution_accelerator[0]
    assert accel.name == "tensorrt" and accel.parameters["precision_mode"] == "FP16"
    assert spec.output("embedding").dims == (768,)


def test_tensorrt_target_plans_only_fixed_shape_graphs():
    specs = build_specs(get_preset("large"))
    platforms = {s.name: parse_config(render_config(s, "tensorrt")).platform for s in specs}
    assert {n for n, p in platforms.items() if p == "tensorrt_plan"} == {
        "clip_image",
        "clip_text_encoder",
        "yolo",
        "dinov2",
    }
    assert platforms["ocr_det"] == platforms["ocr_rec"] == "onnxruntime_onnx"
    assert platforms["preprocess"] == ""  # python backend


def test_limits_are_saved_and_kept_by_later_builds(tmp_path):
    from typer.testing import CliRunner

    from stashtag.cli import app
    from stashtag.repo import SETTINGS_FILE

    repo = tmp_path / "repo"
    build = ["repo", "build", "--preset", "tiny", "--no-export", "--repo", str(repo)]
    runner = CliRunner()
    result = runner.invoke(app, [*build, "--max-frames", "81", "--max-image-mb", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, build)  # no limits given: the saved ones stay
    assert result.exit_code == 0, result.output
    for model in ("preprocess", "ocr"):
        cfg = parse_config((repo / model / "config.pbtxt").read_text())
        assert cfg.parameters["max_frames"].string_value == "81"
        assert cfg.parameters["max_encoded_bytes"].string_value == str(1 << 20)
        assert cfg.parameters["max_pixels"].string_value == "40000000"
    (repo / SETTINGS_FILE).write_text('{"limits": {"max_frames": 0}}')
    result = runner.invoke(app, build)
    assert result.exit_code != 0
    assert "limits: max_frames must lie in 1..128" in result.output


def test_a_repository_remembers_its_preset_and_target(tmp_path):
    import json

    from typer.testing import CliRunner

    from stashtag.cli import app
    from stashtag.repo import SETTINGS_FILE

    repo, runner = tmp_path / "repo", CliRunner()
    build = ["repo", "build", "--no-export", "--repo", str(repo)]
    result = runner.invoke(app, [*build, "--preset", "tiny", "--target", "onnxruntime"])
    assert result.exit_code == 0, result.output
    saved = json.loads((repo / SETTINGS_FILE).read_text())
    assert (saved["preset"], saved["target"]) == ("tiny", "onnxruntime")
    result = runner.invoke(app, build)  # a rebuild keeps both
    assert result.exit_code == 0, result.output
    cfg = parse_config((repo / "clip_image" / "config.pbtxt").read_text())
    assert cfg.platform == "onnxruntime_onnx"
    assert cfg.output[0].dims == [64]  # tiny's CLIP, not the default preset's 512
    result = runner.invoke(app, ["repo", "check", "--repo", str(repo)])
    assert result.exit_code == 1 and "clip_image/1/model.onnx" in "".join(result.output.split())
    result = runner.invoke(app, ["repo", "check", "--repo", str(repo), "--preset", "small"])
    assert result.exit_code == 1
    assert "was built with --preset tiny, not small" in " ".join(result.output.split())


def test_a_repository_from_before_the_setting_tells_its_preset(tmp_path):
    from dataclasses import replace

    from stashtag.repo import built_preset, built_target, write_configs
    from stashtag_core.modelspec import build_specs
    from stashtag_core.presets import get_preset

    assert built_preset(tmp_path) is None and built_target(tmp_path) is None
    specs = [
        replace(s, parameters={**s.parameters, "model_id": "large-0123abcd"})
        if s.name == "tagger"
        else s
        for s in build_specs(get_preset("large"))
    ]
    write_configs(tmp_path, specs, "tensorrt")  # no stashtag-settings.json: the configs tell
    assert (built_preset(tmp_path), built_target(tmp_path)) == ("large", "tensorrt")


def test_gpus_place_graph_models(tmp_path):
    from typer.testing import CliRunner

    from stashtag.cli import app

    repo, runner = tmp_path / "repo", CliRunner()
    base = ["repo", "build", "--preset", "tiny", "--no-export", "--repo", str(repo)]
    for target in ("onnxruntime", "python-ort"):
        result = runner.invoke(app, [*base, "--target", target, "--gpus", "0,1"])
        assert result.exit_code == 0, result.output
        (group,) = parse_config((repo / "clip_image" / "config.pbtxt").read_text()).instance_group
        assert list(group.gpus) == [0, 1] and group.kind == group.KIND_GPU
        (pre,) = parse_config((repo / "preprocess" / "config.pbtxt").read_text()).instance_group
        assert pre.kind == pre.KIND_CPU and not pre.gpus  # decoding stays on the CPU
    result = runner.invoke(app, [*base, "--gpus", "none"])
    assert result.exit_code == 0, result.output
    (group,) = parse_config((repo / "clip_image" / "config.pbtxt").read_text()).instance_group
    assert group.kind == group.KIND_CPU and not group.gpus
    result = runner.invoke(app, [*base, "--gpus", "0,x"])
    assert result.exit_code != 0 and "give GPU numbers like 0,1" in result.output


def test_if_missing_skips_a_complete_export(tiny_repo, tmp_path):
    from typer.testing import CliRunner

    from stashtag.bench.triton_runs import derived_repo
    from stashtag.cli import app

    repo = derived_repo(tiny_repo, tmp_path / "copy", get_preset("tiny"), lambda specs: specs)
    args = ["repo", "build", "--preset", "tiny", "--random-weights", "--repo", str(repo)]
    result = CliRunner().invoke(app, [*args, "--if-missing"])
    assert result.exit_code == 0, result.output
    assert "not exporting" in result.output


def test_other_tritonserver_binary(tiny_repo, tmp_path):
    from stashtag.server import ServerOptions, TritonServer
    from stashtag_core.errors import ServeError

    fake = tmp_path / "opt" / "tritonserver" / "bin" / "tritonserver"
    opts = ServerOptions(tiny_repo, binary=fake)
    command = TritonServer(opts).command()
    assert command[0] == str(fake)
    assert f"--backend-directory={tmp_path / 'opt' / 'tritonserver' / 'backends'}" in command
    assert "--model-control-mode=none" in command
    with pytest.raises(ServeError, match="does not exist"):
        TritonServer(opts).start()


@pytest.mark.parametrize("target", ["python-ort", "python-torch", "onnxruntime", "tensorrt"])
def test_the_target_is_read_back_from_the_configs(tmp_path, target):
    """bench and tune rebuild a repository's configs for the target it was built for."""
    from stashtag.repo import repo_target

    write_configs(tmp_path, build_specs(get_preset("tiny")), target)
    assert repo_target(tmp_path) == target
    (tmp_path / "clip_image" / "config.pbtxt").write_text('name: "clip_image"\n')
    with pytest.raises(ValueError, match="no known target"):
        repo_target(tmp_path)
    with pytest.raises(ValueError, match="repo build"):
        repo_target(tmp_path / "elsewhere")


def test_repo_build_adds_and_drops_detectors(tiny_repo, tmp_path):
    """--detector content on a built repository exports only the detector (--if-missing keeps
    the rest); --no-detectors removes its models and the tagger's outputs."""
    import json
    import shutil

    from typer.testing import CliRunner

    from stashtag.cli import app

    repo = tmp_path / "repo"
    shutil.copytree(tiny_repo, repo)
    runner = CliRunner()
    dropped = runner.invoke(
        app, ["repo", "build", "--repo", str(repo), "--if-missing", "--no-detectors"]
    )
    assert dropped.exit_code == 0, dropped.output
    assert not (repo / "content").exists() and not (repo / "content_post").exists()
    tagger = parse_config((repo / "tagger" / "config.pbtxt").read_text())
    assert "content_detections" not in {o.name for o in tagger.output}
    clip_meta = (repo / "clip_image" / "1" / "meta.json").read_text()
    added = runner.invoke(
        app, ["repo", "build", "--repo", str(repo), "--if-missing", "--detector", "content"]
    )
    assert added.exit_code == 0, added.output
    assert "exporting detector content" in added.output and "exporting clip" not in added.output
    assert (repo / "clip_image" / "1" / "meta.json").read_text() == clip_meta  # not re-exported
    tagger = parse_config((repo / "tagger" / "config.pbtxt").read_text())
    assert {"content_detections", "content_num_detections"} <= {o.name for o in tagger.output}
    classes = json.loads(tagger.parameters["detectors"].string_value)["content"]
    assert len(classes) == 18 and classes[1] == "FACE_FEMALE"
    bad = runner.invoke(
        app, ["repo", "build", "--repo", str(repo), "--detector", "x=/nowhere.onnx"]
    )
    assert bad.exit_code != 0 and "/nowhere.onnx is not a file" in bad.output


def test_input_size_buckets_follow_the_repository(tiny_repo, tmp_path):
    """Buckets by default where the exports allow them, saved by --bucket-scale, off (with the
    reason said) for fixed-size exports and plan targets; the model id changes with them."""
    import json

    from typer.testing import CliRunner

    from stashtag.bench.triton_runs import derived_repo
    from stashtag.cli import app
    from stashtag.repo import buckets_in_use, specs_for

    preset = get_preset("tiny")
    repo = derived_repo(tiny_repo, tmp_path / "copy", preset, lambda specs: specs)

    def parameters(path):
        return parse_config((path / "preprocess" / "config.pbtxt").read_text()).parameters

    def model_id(path):
        cfg = parse_config((path / "tagger" / "config.pbtxt").read_text())
        return cfg.parameters["model_id"].string_value

    assert parameters(repo)["bucket_scale"].string_value == "2"
    yolo = parse_config((repo / "yolo" / "config.pbtxt").read_text())
    assert list(yolo.input[0].dims) == [3, -1, -1]
    native = derived_repo(tiny_repo, tmp_path / "native", preset, lambda s: s, bucket_scale=0)
    assert parameters(native)["yolo_buckets"].string_value == "640x640"
    assert model_id(native) != model_id(repo)

    build = ["repo", "build", "--preset", "tiny", "--no-export", "--repo", str(repo)]
    assert CliRunner().invoke(app, build).exit_code == 0
    with_buckets = model_id(repo)
    result = CliRunner().invoke(app, [*build, "--bucket-scale", "0"])
    assert result.exit_code == 0, result.output
    assert parameters(repo)["dino_buckets"].string_value == "224x224"
    assert model_id(repo) != with_buckets  # stored DINOv2 embeddings are kept apart
    result = CliRunner().invoke(app, [*build, "--bucket-scale", "1.5"])
    assert model_id(repo) == with_buckets  # same DINOv2 sizes
    assert parameters(repo)["bucket_scale"].string_value == "1.5"
    assert CliRunner().invoke(app, build).exit_code == 0  # the saved scale stays
    assert parameters(repo)["bucket_scale"].string_value == "1.5"

    meta = repo / "yolo" / "1" / "meta.json"  # an export from before buckets
    old = json.loads(meta.read_text())
    del old["free_size"]
    meta.unlink()  # a link into the shared tiny repository: replace, never write through
    meta.write_text(json.dumps(old))
    assert buckets_in_use(repo)[0] == 0 and "--only yolo" in buckets_in_use(repo)[1]
    result = CliRunner().invoke(app, build)
    assert "input-size buckets off" in result.output and "re-export" in result.output
    assert parameters(repo)["bucket_scale"].string_value == "0"
    scale, why = buckets_in_use(tiny_repo, "tensorrt")
    assert scale == 0 and "native size" in why
    specs = specs_for(tiny_repo, preset, target="python-torch")
    assert spec_by_name(specs, "dinov2").inputs[0].dims == (3, 224, 224)
