"""``stashtag stash --watch``: passes at an interval, failures survived, clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

from stashtag_client.stash.watch import watch
from stashtag_client.stash.workflow import DONE_TAG, QUEUE_TAG
from stashtag_core.errors import StashtagError


def test_watch_survives_a_failing_pass_and_stops():
    stop, calls, logs = threading.Event(), [], []

    def run_once():
        calls.append(1)
        if len(calls) == 2:
            raise StashtagError("Stash did not answer")
        if len(calls) == 3:
            stop.set()
        return {"tagged": 1, "errors": 1}

    assert watch(run_once, 0.01, lambda lv, m: logs.append((lv, m)), stop) == 3
    assert ("e", "pass 2 failed: Stash did not answer; trying again in 0.01 s") in logs
    assert ("i", "pass 1: 1 tagged, 1 error(s)") in logs and logs[-1][1].startswith("stopped")


def test_watch_command_tags_new_queued_scenes_and_stops_cleanly(triton, tmp_path):
    from tests.client.test_stash import API_KEY, sprite_pair
    from tests.fakestash import FakeScene, FakeStash, serve

    fake = FakeStash(API_KEY)
    queue = fake.add_tag(QUEUE_TAG)
    for i in (1, 2):
        oshash = f"{i:016x}"
        scene = fake.add_scene(FakeScene(str(i), f"S{i}", f"/v/{i}.mp4", oshash, duration=30.0))
        scene.sprite, scene.vtt = sprite_pair(i, oshash)
    fake.scenes["1"].tag_ids.append(queue)
    server, url = serve(fake)
    cmd = [sys.executable, "-m", "stashtag.cli", "stash", "--stash-url", url]
    cmd += ["--stash-api-key", API_KEY]
    cmd += ["--triton", triton.options.grpc_url, "--store", str(tmp_path / "w.db")]
    cmd += ["--watch", "--interval", "0.5", "--no-studio"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def tagged(sid: str) -> bool:
            done = fake.tag_by_name(DONE_TAG)
            return bool(done) and done["id"] in fake.scenes[sid].tag_ids

        deadline = time.monotonic() + 240
        while not tagged("1") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tagged("1") and not tagged("2")
        fake.scenes["2"].tag_ids.append(queue)  # queued while the watcher runs
        while not tagged("2") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tagged("2")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.shutdown()
    assert proc.returncode == 0, err
    assert "stopped after" in err
