"""The command line: help everywhere, repository checks, clear errors."""

import pytest
from typer.testing import CliRunner

from stashtag.cli import app

runner = CliRunner()
COMMANDS = [
    [],
    ["export"],
    ["repo"],
    ["repo", "build"],
    ["repo", "check"],
    ["serve"],
    ["smoke"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_repo_check_complete(tiny_repo):
    result = runner.invoke(app, ["repo", "check", "--repo", str(tiny_repo), "--preset", "tiny"])
    assert result.exit_code == 0, result.output


def test_repo_check_lists_missing(tmp_path):
    result = runner.invoke(app, ["repo", "check", "--repo", str(tmp_path)])
    assert result.exit_code == 1
    assert "clip_image" in result.output and "model.onnx" in result.output


def test_unknown_target_and_preset(tmp_path):
    result = runner.invoke(app, ["repo", "build", "--target", "tflite", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "unknown target 'tflite'" in result.output
    result = runner.invoke(app, ["repo", "build", "--preset", "huge", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "unknown preset 'huge'" in result.output


def test_repo_build_without_export_writes_configs(tmp_path):
    result = runner.invoke(app, ["repo", "build", "--no-export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tagger" / "config.pbtxt").is_file()
    assert (tmp_path / "preprocess" / "1" / "model.py").is_file()
    assert "still missing" in result.output
