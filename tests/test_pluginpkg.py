"""The Stash plugin package: manifest keys Stash accepts, zip and index.yml for a source."""

import hashlib
import zipfile

import pytest
import yaml
from typer.testing import CliRunner

from stashtag.cli import app
from stashtag.pluginpkg import PLUGIN_DIR, check_manifest, release_time
from stashtag_core import __version__


def test_build_zip_and_index(tmp_path):
    result = CliRunner().invoke(app, ["plugin", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    index = yaml.safe_load((tmp_path / "index.yml").read_text())
    entry = index[0]
    assert {"id", "name", "version", "date", "path", "sha256", "requires"} <= set(entry)
    archive = tmp_path / entry["path"]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == entry["sha256"]
    names = zipfile.ZipFile(archive).namelist()
    assert sorted(names) == [
        "stashtag.yml",
        "stashtag_bootstrap.py",
        "stashtag_hook.py",
        "stashtag_plugin.py",
        "ui/dist/stashtag-ui.css",  # the web UI, where the manifest's ui section names it
        "ui/dist/stashtag-ui.js",
        f"wheels/stashtag_client-{__version__}-py3-none-any.whl",
        f"wheels/stashtag_core-{__version__}-py3-none-any.whl",
    ]
    # Stash loads every .yml under its plugins folder as a plugin manifest (seen in a real
    # Stash: the client's default.yml, installed into deps/, logged a load error at each start)
    with zipfile.ZipFile(archive) as z:
        for wheel in [n for n in names if n.endswith(".whl")]:
            inner = zipfile.ZipFile(z.open(wheel)).namelist()
            assert not [n for n in inner if n.endswith(".yml")], wheel
    # a rebuild of the same release is byte-identical, dated by the release, not the clock
    again = CliRunner().invoke(app, ["plugin", "build", "--out", str(tmp_path / "again")])
    assert again.exit_code == 0, again.output
    assert yaml.safe_load((tmp_path / "again" / "index.yml").read_text()) == index
    assert entry["date"] == release_time().strftime("%Y-%m-%d %H:%M:%S")


def test_manifest_is_what_stash_accepts():
    manifest = yaml.safe_load((PLUGIN_DIR / "stashtag.yml").read_text())
    check_manifest(manifest)
    assert manifest["exec"][1] == "{pluginDir}/stashtag_plugin.py"
    assert manifest["interface"] == "raw"
    tasks = {t["defaultArgs"]["task"] for t in manifest["tasks"]}
    assert tasks == {
        *("tag", "retag", "duplicates", "generate", "undo"),
        *("learn", "calibrate", "learned", "forget", "review", "tag-images", "tag-galleries"),
    }
    assert manifest["hooks"][0]["triggeredBy"] == ["Scene.Create.Post"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(colour="red"), "keys Stash does not accept"),
        (lambda m: m.update(version="1.0"), "x.y.z"),
        (lambda m: m["settings"]["1_tritonEndpoints"].update(type="LIST"), "type must be"),
    ],
)
def test_bad_manifest(edit, message):
    manifest = yaml.safe_load((PLUGIN_DIR / "stashtag.yml").read_text())
    edit(manifest)
    with pytest.raises(ValueError, match=message):
        check_manifest(manifest)


def test_plugin_and_client_versions_agree():
    """The plugin ships this client: one version for both (the plugin warns otherwise)."""
    manifest = yaml.safe_load((PLUGIN_DIR / "stashtag.yml").read_text())
    assert str(manifest["version"]) == __version__
    shown = CliRunner().invoke(app, ["--version"])
    assert shown.exit_code == 0 and f"stashtag-client {manifest['version']}" in shown.output


def test_the_manifest_settings_are_generated_from_the_settings_declaration(monkeypatch):
    """plugin/stashtag.yml's settings block is what `stashtag plugin manifest` writes, and the
    generator reads the declaration (a changed form changes the manifest)."""
    from stashtag.pluginpkg import MANIFEST, generated_manifest
    from stashtag_client import settings

    assert MANIFEST.read_text(encoding="utf-8") == generated_manifest(), (
        "run `stashtag plugin manifest`"
    )
    name, _, kind = settings.PLUGIN_FORMS["dryRun"]
    monkeypatch.setitem(settings.PLUGIN_FORMS, "dryRun", (name, "Changed", kind))
    changed = yaml.safe_load(generated_manifest())["settings"]["dryRun"]
    assert changed == {"displayName": name, "description": "Changed", "type": kind}


def test_one_version_everywhere(tmp_path):
    """The release's version is stashtag_core's; every place packaging spells it out agrees,
    and set_version rewrites them all."""
    import shutil

    import stashtag
    import stashtag_client
    from stashtag.versioning import PLACES, ROOT, set_version, written_versions
    from stashtag_core import __version__

    assert written_versions() == {name: {__version__} for name, _ in PLACES}
    assert stashtag.__version__ == stashtag_client.__version__ == __version__
    assert yaml.safe_load((ROOT / "plugin" / "stashtag.yml").read_text())["version"] == __version__
    for name, _ in PLACES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    assert set_version("9.8.7", tmp_path)
    assert written_versions(tmp_path) == {name: {"9.8.7"} for name, _ in PLACES}
    with pytest.raises(ValueError, match=r"give x\.y\.z"):
        set_version("next", tmp_path)


def test_the_uis_answer_types_are_generated_from_the_python_declaration():
    """plugin/ui/src/answers.ts is what `stashtag plugin manifest` writes (tsc then checks the
    pages against it: tests/ui/test_build.py)."""
    from stashtag.pluginpkg import UI_ANSWERS, generated_files

    assert UI_ANSWERS.read_text(encoding="utf-8") == generated_files()[UI_ANSWERS]
    assert (
        "  pairs: Pair[];" in UI_ANSWERS.read_text()
        and "  model_id: string;" in UI_ANSWERS.read_text()
    )
