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
    result = runner.invoke(app, ["repo", "build", "--target", "tflite", "--repo", str(tmp_path)])
    assert result.exit_code == 1 and "unknown target 'tflite'" in result.output
    result = runner.invoke(app, ["repo", "build", "--preset", "huge", "--repo", str(tmp_path)])
    assert result.exit_code == 1 and "unknown preset 'huge'" in result.output


def test_repo_build_without_export_writes_configs(tmp_path):
    result = runner.invoke(app, ["repo", "build", "--no-export", "--repo", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tagger" / "config.pbtxt").is_file()
    assert (tmp_path / "preprocess" / "1" / "model.py").is_file()
    assert "still missing" in result.output


def test_one_flag_name_per_setting_in_every_command():
    """Triton, Stash URL, API key and store have the same flag wherever they appear."""
    import typer.main

    from stashtag_client.settings import FLAGS

    command = typer.main.get_command(app)
    seen: dict[str, set[str]] = {}

    def walk(cmd, path: str) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")
        for param in cmd.params:
            if param.param_type_name == "option":
                seen[f"{path}: {param.name}"] = set(param.opts)

    walk(command, "stashtag")
    for flag in (f.split("/")[0] for f in FLAGS.values()):
        for param, opts in seen.items():
            if flag in opts:
                assert opts == {flag}, (param, opts)  # no second spelling beside it
    for legacy in ("--url", "--api-key", "--out-repo"):
        assert not any(legacy in opts for opts in seen.values()), legacy
    for flag in ("--triton", "--stash-url", "--stash-api-key", "--store", "--repo"):
        assert any(flag in opts for opts in seen.values()), flag


def test_setting_flags_are_generated_from_the_declaration():
    """Every command's setting flags are those its groups declare, with the settings' help."""
    import typer.main

    from stashtag_client.cli.setting_flags import setting_names
    from stashtag_client.settings import flag_of, help_of

    command = typer.main.get_command(app)
    groups = {
        "tag": ("connection", "inference", "store", "vocabulary"),
        "retag": ("store", "vocabulary"),
        "search": ("connection", "store"),
        "similar": ("store",),
        "duplicates": ("store",),
        "calibrate": ("stash", "store", "vocabulary", "dry_run", "learning"),
        "stash": ("connection", "inference", "store", "vocabulary", "stash", "writing", "describe"),
    }
    for name, wanted in groups.items():
        params = {p.name: p for p in command.commands[name].params}
        for setting in setting_names(*wanted):
            param = params[f"setting__{setting}"]
            primary, _, negative = flag_of(setting).partition("/")
            assert param.opts == [primary] and param.secondary_opts == (
                [negative] if negative else []
            )
            assert param.help == help_of(setting) and param.default is None
        assert params["setting__config"].opts == ["--config"]
    assert (
        len(
            setting_names(
                "connection", "inference", "store", "vocabulary", "stash", "writing", "describe"
            )
        )
        >= 24
    )  # the stash command's, once by hand


@pytest.mark.parametrize(
    "argv",
    [["retag"], ["similar", "x"], ["duplicates"], ["learned", "list"], ["calibrate", "--reset"]],
)
def test_every_store_command_honours_stashtag_store_and_the_config_file(argv, tmp_path):
    """STASHTAG_STORE and the config file name the store for every command, not only `tag`."""
    from_env = tmp_path / "env.db"
    result = runner.invoke(app, argv, env={"STASHTAG_STORE": str(from_env)})
    assert result.exit_code == 1 and f"{from_env}: no store yet" in result.output
    config = tmp_path / "c.yml"
    config.write_text(f"store: {tmp_path / 'conf.db'}\n")
    result = runner.invoke(app, [*argv, "--config", str(config)], env={"STASHTAG_STORE": None})
    assert result.exit_code == 1 and "conf.db: no store yet" in result.output
