"""The built plugin, installed the way Stash installs it, brings its own environment and tags.

The plugin zip is unpacked into a plugins folder and run by a fresh Python that has nothing of
stashtag (a new venv, as bare as Stash's own Python), with Stash's stdin JSON: the first run
installs the client wheels it carries and their dependencies from the package index, then runs
*Tag queued scenes* against the fake Stash and the session's real Triton. Scenes are written
back one by one while later ones are still being fetched; a ``kill -9`` in the middle loses
nothing finished and the next run completes the rest without doing any scene twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

from stashtag.pluginpkg import build
from stashtag_client.stash.workflow import DONE_TAG, QUEUE_TAG
from tests.client.test_stash import API_KEY, plugin_input, sprite_pair
from tests.fakestash import FakeScene, FakeStash, serve

pytestmark = pytest.mark.slow
SCENES = 16


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the plugin folder in a Stash plugins folder, a bare Python)."""
    root = tmp_path_factory.mktemp("stash")
    archive, _ = build(root / "source")
    plugin = root / "plugins" / "stashtag"
    zipfile.ZipFile(archive).extractall(plugin)
    env = root / "python"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    bare = subprocess.run([python, "-c", "import stashtag_client"], capture_output=True)
    assert bare.returncode != 0, "the fresh Python must not have the client"
    return plugin, python


def _start(python: Path, plugin: Path, url: str, args: dict) -> subprocess.Popen:
    payload = json.loads(plugin_input(url, args))
    payload["server_connection"]["PluginDir"] = str(plugin)
    proc = subprocess.Popen(
        [str(python), str(plugin / "stashtag_plugin.py")],  # Stash's exec line
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=plugin.parent.parent,  # Stash's working directory, not the plugin's
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
    )
    proc.stdin.write(json.dumps(payload))
    proc.stdin.close()
    proc.stdin = None  # communicate() must not touch it again
    return proc


def _finish(proc: subprocess.Popen) -> tuple[int, dict, list[tuple[str, str]]]:
    out, err = proc.communicate(timeout=1200)
    logs = [(ln[1], ln[3:]) for ln in err.splitlines() if ln.startswith("\x01") and ln[2] == "\x02"]
    result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error": err[-3000:]}
    return proc.returncode, result, logs


def _library() -> FakeStash:
    fake = FakeStash(API_KEY)
    queue = fake.add_tag(QUEUE_TAG)
    for i in range(1, SCENES + 1):
        scene = fake.add_scene(
            FakeScene(str(i), f"S{i}", f"/nowhere/{i}.mp4", f"{i:016x}", duration=30.0)
        )
        scene.sprite, scene.vtt = sprite_pair(i, scene.oshash)
        scene.tag_ids.append(queue)
    return fake


def _written(fake: FakeStash) -> list[str]:
    """Scenes whose queue tag came off (the last step of a scene's write-back), in order."""
    queue = next(t for t, v in fake.tags.items() if v["name"] == QUEUE_TAG)
    return [i for e in fake.events if e[:2] == ("tags", "REMOVE") and queue in e[3] for i in e[2]]


def test_installed_plugin_bootstraps_tags_scene_by_scene_and_survives_kill(installed, triton):
    plugin, python = installed
    fake = _library()
    fake.plugin_settings["stashtag"] = {
        "1_tritonEndpoints": triton.options.grpc_url,
        "4_requestsInFlight": 1,  # two scenes at a time: the order of events below means something
    }
    server, url = serve(fake)
    try:
        first = _start(python, plugin, url, {"task": "tag", "scenes": "queued"})
        deadline = time.monotonic() + 900
        while len(_written(fake)) < 4 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)
        code, _, logs = _finish(first)
        assert code == -signal.SIGKILL, logs
        assert any("installing the client" in m for _, m in logs), logs  # first run bootstrapped
        done_first = _written(fake)
        assert 4 <= len(done_first) < SCENES, "the kill came after the run ended"
        names = {t: v["name"] for t, v in fake.tags.items()}
        for sid in done_first:  # every finished scene is fully written
            assert DONE_TAG in {names[t] for t in fake.scenes[sid].tag_ids}
        # written while later scenes were still being fetched
        sprites = [e[1] for e in fake.events if e[0] == "sprite"]
        first_write = next(i for i, e in enumerate(fake.events) if e[:2] == ("tags", "REMOVE"))
        fetched_before = {e[1] for e in fake.events[:first_write] if e[0] == "sprite"}
        assert len(fetched_before) < len(set(sprites)), fake.events

        markers_before = {m["id"]: dict(m) for m in fake.markers.values()}
        second = _start(python, plugin, url, {"task": "tag", "scenes": "queued"})
        code, result, logs = _finish(second)
        assert code == 0 and result["error"] is None, (result, logs)
        assert not any("installing the client" in m for _, m in logs)  # installed once
    finally:
        server.shutdown()
    written = _written(fake)
    assert sorted(written, key=int) == [str(i) for i in range(1, SCENES + 1)]  # each once
    for scene in fake.scenes.values():
        scene_names = {names.get(t) or fake.tags[t]["name"] for t in scene.tag_ids}
        assert DONE_TAG in scene_names and QUEUE_TAG not in scene_names
    for mid, marker in markers_before.items():  # the first run's markers stay as they were
        assert fake.markers[mid] == marker
    spans = [(m["scene_id"], m["title"], m["seconds"]) for m in fake.markers.values()]
    assert len(spans) == len(set(spans)), "a scene's markers were written twice"
    assert result["output"]["tagged"] == SCENES - len(done_first)
    assert sys.executable not in str(python)
