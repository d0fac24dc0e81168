"""One settings object: each source layered over the last, every bad value named by source."""

from __future__ import annotations

import pytest

from stashtag_client.settings import Settings, SettingsError, help_of, plugin_keys
from stashtag_client.wiring import describe_settings
from stashtag_core.protocol import PRIORITY_INTERACTIVE


def test_defaults_file_env_plugin_flags_in_that_order(tmp_path):
    config = tmp_path / "stashtag.yml"
    config.write_text(
        "endpoints: file:8001\nstrategy: only-new\nmax_in_flight: 4\nmarkers: false\n"
    )
    env = {"STASHTAG_ENDPOINTS": "env:8001", "STASHTAG_MAX_IN_FLIGHT": "6"}
    plugin = {"1_tritonEndpoints": "plugin:8001", "noMarkers": False}
    s = Settings.load(file=config, env=env, plugin=plugin, flags={"endpoints": "flag:8001"})
    assert s.endpoints == "flag:8001"  # flags win over everything
    assert s.max_in_flight == 6  # env over the file
    assert s.markers is True  # the plugin's "Disable markers" unticked, over the file
    assert s.strategy == "only-new"  # only the file says it
    assert s.ocr_frames == Settings().ocr_frames  # nobody says it: the default
    base = Settings.load(env={})
    assert base == Settings()


def test_config_file_from_the_environment(tmp_path):
    config = tmp_path / "c.yml"
    config.write_text("stash_url: http://stash:9999\n")
    assert Settings.load(env={"STASHTAG_CONFIG": str(config)}).stash_url == "http://stash:9999"


def test_plugin_settings_as_stash_sends_them():
    plugin = {
        "suggestMode": True,
        "noStudio": True,
        "reviewBelowPercent": 40,  # Stash's number box keeps whole numbers: percentages
        "galleryPercent": 0,  # an emptied box saves 0: the default (30 %) stays
        "2_tritonServerKey": "",  # an emptied text setting: not set
        "4_requestsInFlight": 0,  # likewise: the default stays
        "calibrateMinLabels": 5,
        "unknownToUs": "ignored",
    }
    s = Settings.load(env={}, plugin=plugin)
    assert (s.mode, s.studio, s.review_below) == ("suggest", False, 0.4)
    assert s.gallery_share == 0.3 and s.server_key == "" and s.calibrate_min_labels == 5
    assert s.max_in_flight == Settings().max_in_flight
    # a 0.1 plugin's connection settings still count, under their old keys
    legacy = Settings.load(env={}, plugin={"endpoints": "old:8001", "serverKey": "k"})
    assert (legacy.endpoints, legacy.server_key) == ("old:8001", "k")
    both = {"endpoints": "old:8001", "1_tritonEndpoints": "new:8001"}
    assert Settings.load(env={}, plugin=both).endpoints == "new:8001"


def test_connection_settings_sort_first_and_the_hook_reads_declared_keys():
    """Stash lists a plugin's settings sorted by key: what a user must set first comes first."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "plugin" / "stashtag_hook.py"
    spec = importlib.util.spec_from_file_location("stashtag_hook", path)
    stashtag_hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stashtag_hook)

    keys = sorted(plugin_keys())
    assert keys[:4] == [
        "1_tritonEndpoints", "2_tritonServerKey", "3_tritonTlsCa", "4_requestsInFlight"
    ]  # fmt: skip
    assert {stashtag_hook.QUEUE_KEY, stashtag_hook.TAG_NOW_KEY} <= plugin_keys()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"env": {"STASHTAG_MAX_IN_FLIGHT": "many"}}, "STASHTAG_MAX_IN_FLIGHT: invalid literal"),
        ({"env": {"STASHTAG_DRY_RUN": "perhaps"}}, "STASHTAG_DRY_RUN: expected true or false"),
        ({"plugin": {"dryRun": "x"}}, "plugin setting dryRun: expected true or false"),
        ({"flags": {"max_in_flight": 2.5}}, "flag --max-in-flight: expected a whole number"),
        ({"flags": {"strategy": "merge"}}, "unknown strategy 'merge'"),
        ({"flags": {"strategy": "overwrite"}}, "enable it explicitly"),
        (
            {"flags": {"review_below": 30}},
            r"review_below must lie in 0..1 \(the plugin.s Review below \(%\): 0-100\), not 30",
        ),
    ],
)
def test_bad_values_name_their_source(source, message):
    with pytest.raises(SettingsError, match=message):
        Settings.load(**{"env": {}, **source})


def test_bad_config_files_are_named(tmp_path):
    missing = tmp_path / "nope.yml"
    with pytest.raises(SettingsError, match=f"{missing}: cannot read the config file"):
        Settings.load(file=missing, env={})
    odd = tmp_path / "odd.yml"
    odd.write_text("endpoint: typo:8001\n")
    with pytest.raises(SettingsError, match=f"{odd}: unknown setting\\(s\\) endpoint"):
        Settings.load(file=odd, env={})
    listy = tmp_path / "list.yml"
    listy.write_text("- a\n")
    with pytest.raises(SettingsError, match="expected a mapping"):
        Settings.load(file=listy, env={})


def test_derived_values():
    s = Settings(confirmed_learned="Beach, sunset", describe_endpoint="http://llm/v1")
    assert s.learned_confirmed("SUNSET") and not s.learned_confirmed("Night")
    assert Settings(confirmed_learned="*").learned_confirmed("anything")
    assert describe_settings(s).endpoint == "http://llm/v1"


def test_one_wiring_builds_the_pool_from_the_settings(monkeypatch):
    """Timeout, attempts, key and CA reach every pool, search's included; the environment is
    read once, by the settings."""
    from stashtag_client.wiring import endpoint_pool

    monkeypatch.setenv("STASHTAG_SERVER_KEY", "from-env")
    s = Settings.load(
        env={"STASHTAG_SERVER_KEY": "k", "STASHTAG_TIMEOUT_S": "7", "STASHTAG_ATTEMPTS": "2"},
        flags={"endpoints": "a:1,b:2=3", "tls_ca": "/ca.pem"},
    )
    pool = endpoint_pool(s, 1, interactive=True)
    assert (pool.policy.timeout_s, pool.policy.attempts) == (7.0, 2)
    assert [e.weight for e in pool.endpoints] == [1, 3]
    assert pool.access.key == "k" and str(pool.access.ca_file) == "/ca.pem"
    assert pool.access.priority == PRIORITY_INTERACTIVE
    assert endpoint_pool(Settings(), 4).access.key is None  # nothing but the settings counts
    assert "host:port" in help_of("endpoints")


def test_shell_command_reads_the_stash_url_from_env_and_config(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from stashtag_client.cli import app

    monkeypatch.delenv("STASHTAG_STASH_URL", raising=False)
    result = CliRunner().invoke(app, ["stash", "--store", str(tmp_path / "s.db")])
    assert result.exit_code == 1 and "give the Stash URL" in result.output
    config = tmp_path / "c.yml"
    config.write_text("stash_url: http://127.0.0.1:9\nstrategy: nonsense\n")
    result = CliRunner().invoke(app, ["stash", "--config", str(config)])
    assert result.exit_code == 1 and "unknown strategy 'nonsense'" in result.output


def test_docs_list_every_setting_as_the_code_declares_it():
    from pathlib import Path

    from stashtag_client.settings import settings_table

    docs = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    assert settings_table() in docs.read_text(), "regenerate docs/settings.md's table"


def test_the_plugin_manifest_declares_exactly_the_plugin_settings():
    from pathlib import Path

    import yaml

    from stashtag_client.settings import plugin_keys

    manifest = Path(__file__).resolve().parents[2] / "plugin" / "stashtag.yml"
    declared = set(yaml.safe_load(manifest.read_text())["settings"])
    assert declared == plugin_keys()
