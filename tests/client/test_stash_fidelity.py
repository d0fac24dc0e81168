"""Stash as its Go code behaves, where that differs from what a client would assume.

Each test pins one behaviour of the fake Stash to the real one (the file named in the test) and
checks that the client copes with it. No Triton needed.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection, StashError
from stashtag_client.stash.tags import TagRegistry
from tests.fakestash import FakeScene, FakeStash, like, plugin_stdin, serve

KEY = "k3y"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def stash():
    fake = FakeStash(KEY)
    for i in range(1, 4):
        fake.add_scene(FakeScene(str(i), f"S{i}", f"/v/{i}.mp4", f"{i:016x}", duration=30.0))
    server, url = serve(fake)
    yield fake, url, StashClient(StashConnection(url, KEY))
    server.shutdown()


def test_like_folds_ascii_only_and_has_wildcards():
    """SQLite's LIKE without ICU (Stash's build): '_' and '%' match anything, 'É' ≠ 'é'."""
    assert like("ai_tagged", "AI-Tagged") and like("AI%", "AI Review: x")
    assert like("beach", "BEACH")
    assert not like("éclair", "Éclair")


def test_name_filter_ignores_aliases_but_find_tag_checks_them(stash):
    """pkg/sqlite/tag_filter.go: ``name`` is ``tags.name LIKE ?``; aliases are their own
    criterion. The client looks a vocabulary tag up by name, then by alias."""
    fake, _, client = stash
    beach = fake.add_tag("Beach", aliases=["seaside"])
    assert client.tags_like("seaside") == []
    assert client.find_tag("seaside")["id"] == beach
    assert client.find_tag("SEASIDE")["id"] == beach  # ASCII case folds


def test_wildcard_collision_is_explained(stash):
    """pkg/tag/update.go EnsureTagNameUnique → ByName is an unescaped LIKE: creating
    ``AI_Tagged`` is refused when ``AI-Tagged`` exists, though no tag has that exact name."""
    fake, _, client = stash
    fake.add_tag("AI-Tagged")
    assert client.find_tag("AI_Tagged") is None  # a wildcard match is not the tag
    with pytest.raises(StashError) as refused:
        TagRegistry(client, dry_run=False).get("AI_Tagged")
    message = str(refused.value)
    assert "already exists" in message and "SQL LIKE" in message and "AI-Tagged" in message


def test_alias_collision_is_explained(stash):
    fake, _, client = stash
    fake.add_tag("Tagged by AI", aliases=["AI-TagMe"])
    with pytest.raises(StashError, match=r"used as alias for 'Tagged by AI'.*SQL LIKE"):
        TagRegistry(client, dry_run=False).get("AI_TagMe")


def test_unicode_case_is_not_folded(stash):
    """No ICU: 'éclair' is not 'Éclair' to Stash, so it can be created beside it."""
    fake, _, client = stash
    fake.add_tag("Éclair")
    assert client.find_tag("éclair") is None
    assert TagRegistry(client, dry_run=False).get("éclair") is not None


def test_empty_tags_criterion_matches_every_scene(stash):
    """pkg/sqlite/criterion_handlers.go: a criterion without values filters nothing; the
    client never sends one (an absent queue tag selects no scene)."""
    _, _, client = stash
    assert len(client.find_scenes([], "INCLUDES")) == 3
    from stashtag_client.settings import Settings
    from stashtag_client.stash.items import Scenes

    items = Scenes(client, TagRegistry(client, dry_run=False), Settings())
    assert list(items.select("queued")) == []


def test_find_scene_with_a_non_numeric_id_is_an_error(stash):
    """resolver_query_find_scene.go parses the id: 'abc' is an error, not null."""
    _, _, client = stash
    with pytest.raises(StashError, match="invalid syntax"):
        client.find_scene("abc")
    assert client.find_scene("99") is None
    from stashtag_client.settings import Settings
    from stashtag_client.stash.items import Scenes

    items = Scenes(client, TagRegistry(client, dry_run=False), Settings())
    with pytest.raises(ValueError, match="scene ids are numbers"):
        items.select("id:1,abc")


def test_marker_end_before_start_is_refused(stash):
    fake, _, client = stash
    tag = fake.add_tag("Beach")
    with pytest.raises(StashError, match="end_seconds"):
        client.create_marker("1", tag, "x", 10.0, 5.0)
    assert client.create_marker("1", tag, "x", 5.0, 10.0)


def test_refused_image_request_redirects_to_login(stash):
    """internal/api/authentication.go: a page-like URL without valid credentials is a 302 to
    /login (HTML, 200 after the redirect), not a 401; the client says so instead of taking
    the login page for an image."""
    fake, url, _ = stash
    fake.add_scene(FakeScene("7", "S7", "/v/7.mp4", "7" * 16, duration=30.0)).cover = b"\xff\xd8x"
    wrong = StashClient(StashConnection(url, "wrong"))
    with pytest.raises(StashError, match="refused the credentials"):
        wrong.fetch(f"{url}/scene/7/screenshot")
    with pytest.raises(StashError, match="401 unauthorised"):  # files with a suffix: a 401
        wrong.fetch(f"{url}/scene/{'1' * 16}_sprite.jpg")


def test_plugin_authenticates_with_the_session_cookie(stash, tmp_path):
    """pkg/plugin/common/msg.go: a plugin gets ``SessionCookie`` and no API key."""
    fake, url, _ = stash
    fake.plugin_settings["stashtag"] = {"storePath": str(tmp_path / "s.db")}
    for args in (
        {"task": "generate"},
        {"hookContext": {"id": 1, "type": "Scene.Create.Post", "input": None}},
    ):
        fake.plugin_settings["stashtag"]["queueNewScenes"] = True
        proc = subprocess.run(
            [sys.executable, str(ROOT / "plugin" / "stashtag_plugin.py")],
            input=json.dumps(plugin_stdin(url, fake.session_cookie, tmp_path, tmp_path, args)),
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert proc.returncode == 0 and result["error"] is None, (result, proc.stderr[-2000:])
    assert "AI_TagMe" in {fake.tags[t]["name"] for t in fake.scenes["1"].tag_ids}
    assert fake.jobs and fake.jobs[0]["sceneIDs"] == ["1", "2", "3"]  # sprites asked for


def test_cli_uses_the_plugins_store_for_the_same_stash(stash, tmp_path):
    """``configuration.general.pluginsPath`` (graphql/schema/types/config.graphql) locates the
    plugin installed from a source (``<pluginsPath>/<source path>/stashtag``): with no store
    named, ``stashtag stash`` opens the plugin's, so both share one set of embeddings."""
    from typer.testing import CliRunner

    from stashtag.cli import app

    fake, url, _ = stash
    plugin = tmp_path / "plugins" / "community" / "stashtag"
    plugin.mkdir(parents=True)
    (plugin / "stashtag.yml").write_text("name: stashtag\n")
    fake.plugins_path = str(tmp_path / "plugins")
    args = ["stash", "--stash-url", url, "--stash-api-key", KEY, "--undo", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (plugin / "stashtag.db").is_file() and "the Stash plugin's" in result.output
    fake.plugin_settings["stashtag"] = {"storePath": str(tmp_path / "elsewhere.db")}
    assert CliRunner().invoke(app, args).exit_code == 0
    assert (tmp_path / "elsewhere.db").is_file()  # the plugin's Store file setting wins
