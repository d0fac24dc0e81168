"""Stash integration against the fake Stash server (real HTTP) and the real Triton fixture."""

import asyncio
import copy
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stashtag.demo.samples import encode_jpeg, sprite_sheet, sprite_vtt
from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection, StashError
from stashtag_client.stash.sync import StashSync
from stashtag_client.stash.workflow import DONE_TAG, ERROR_TAG, QUEUE_TAG
from stashtag_client.stash.writer import MARKER_PREFIX
from stashtag_client.store import Store
from stashtag_client.tagging.vocabulary import load_vocabulary
from tests.fakestash import FakeScene, FakeStash, plugin_stdin, serve

API_KEY = "k3y"


def sprite_pair(seed: int, oshash: str) -> tuple[bytes, str]:
    sheet = sprite_sheet(seed=seed)[: 3 * 90, : 3 * 160]
    cues = [c for c in sprite_vtt(f"{oshash}_sprite.jpg", 30.0).split("\n\n")[1:] if c.strip()]
    keep = [
        c for c in cues if int(c.split("=")[1].split(",")[0]) < 480 and int(c.split(",")[1]) < 270
    ]
    return encode_jpeg(sheet), "WEBVTT\n\n" + "\n".join(keep)


@pytest.fixture(scope="module")
def video_sprite(tmp_path_factory) -> tuple[bytes, str]:
    """Scene 4's sprite as Stash would generate it from its (synthetic) video."""
    from stashtag.demo.samples import stash_sprite_from_video
    from stashtag_client.frames.video import write_test_video

    video = write_test_video(tmp_path_factory.mktemp("video") / "v.mp4", seconds=6.0)
    return stash_sprite_from_video(video, f"{4:016x}_sprite.jpg")


@pytest.fixture()
def stash(video_sprite):
    fake = FakeStash(API_KEY)
    queue = fake.add_tag(QUEUE_TAG)
    user_beach = fake.add_tag("Beach", aliases=["seaside"])  # the user's own tag
    fake.add_studio("Stashtag Demo")
    for i in range(1, 5):
        oshash = f"{i:016x}"
        scene = fake.add_scene(
            FakeScene(str(i), f"Scene {i}", f"/nowhere/scene{i}.mp4", oshash, duration=30.0)
        )
        if i == 4:
            scene.pending_sprite = video_sprite  # exists only after metadataGenerate
        else:
            scene.sprite, scene.vtt = sprite_pair(i, oshash)
        if i <= 3:
            scene.tag_ids.append(queue)
    fake.scenes["1"].tag_ids.append(user_beach)
    fake.markers["900"] = {
        "id": "900",
        "scene_id": "1",
        "title": "my favourite bit",
        "seconds": 3.0,
        "end_seconds": 9.0,
        "primary_tag_id": user_beach,
        "tag_ids": [],
    }
    server, url = serve(fake)
    yield fake, url
    server.shutdown()


def make_sync(url, store, triton, **kw) -> StashSync:
    conn = StashConnection(url, API_KEY, timeout_s=2.0, attempts=4)
    settings = Settings(triton.options.grpc_url, **{"ocr_frames": "none", **kw})
    return StashSync(StashClient(conn), store, load_vocabulary(), settings)


def state(fake: FakeStash) -> dict:
    return {
        "tags": {k: list(v.tag_ids) for k, v in fake.scenes.items()},
        "markers": copy.deepcopy(fake.markers),
        "studios": {k: v.studio_id for k, v in fake.scenes.items()},
    }


def names(fake: FakeStash, scene_id: str) -> set[str]:
    return {fake.tags[t]["name"] for t in fake.scenes[scene_id].tag_ids}


def run(sync: StashSync, selection: str):
    return asyncio.run(sync.run(sync.scenes(selection)))


def test_queued_scenes_tagged_users_tags_untouched_and_rerun_is_idempotent(stash, triton, tmp_path):
    fake, url = stash
    with Store(tmp_path / "s.db") as store:
        sync = make_sync(url, store, triton)
        reports = run(sync, "queued")
        assert [r.status for r in reports] == ["tagged"] * 3
        for sid in "123":
            got = names(fake, sid)
            assert DONE_TAG in got and QUEUE_TAG not in got
            assert len(got) > 2  # random weights: some vocabulary tags fire
        assert "Beach" in names(fake, "1")  # the user's tag stays
        assert "900" in fake.markers  # the user's marker stays
        assert names(fake, "4") == set()  # not queued: untouched
        created = [t for t in fake.tags.values() if t["description"] == "Created by stashtag"]
        ai = fake.tag_by_name("AI")["id"]
        vocab_tags = [t for t in created if t["name"] not in (DONE_TAG, ERROR_TAG, "AI")]
        assert vocab_tags and all(
            t["parent_ids"] == [ai] and t["ignore_auto_tag"] for t in vocab_tags
        )
        ours = [m for m in fake.markers.values() if m["title"].startswith(MARKER_PREFIX)]
        before = state(fake)
        mutations = fake.mutations
        reports = run(sync, "id:1,2,3")
        assert state(fake) == before  # nothing changed
        assert len(
            [m for m in fake.markers.values() if m["title"].startswith(MARKER_PREFIX)]
        ) == len(ours)
        assert all(not r.added and not r.removed for r in reports)
        assert fake.mutations - mutations <= 2 * 3  # only the idempotent workflow ADD/REMOVE


def test_never_replaces_scene_tags(stash, triton, tmp_path):
    fake, url = stash
    with Store(tmp_path / "s.db") as store:
        run(make_sync(url, store, triton), "queued")
    assert not any("sceneUpdate" in r and "tag_ids" in r for r in fake.requests)
    assert all("SET" not in r for r in fake.requests)


def test_dry_run_writes_nothing(stash, triton, tmp_path):
    fake, url = stash
    before = state(fake)
    with Store(tmp_path / "s.db") as store:
        reports = run(make_sync(url, store, triton, dry_run=True), "queued")
    assert fake.mutations == 0 and state(fake) == before
    assert all(r.status == "dry-run" and r.added for r in reports)


def test_ocr_reads_the_screenshot_not_the_cells_and_names_the_studio(stash, triton, tmp_path):
    from stashtag.demo.samples import text_frame
    from stashtag_client.stash.items import Scenes

    fake, url = stash
    fake.add_studio("Another Studio")
    fake.scenes["1"].cover = encode_jpeg(text_frame("STASHTAG DEMO", 1280, 720))
    with Store(tmp_path / "s.db") as store:
        sync = make_sync(url, store, triton, ocr_frames="ends:4", studio=True)
        reports = {r.scene_id: r for r in run(sync, "id:1,2")}
        assert reports["1"].studio == "Stashtag Demo"
        assert fake.studios[fake.scenes["1"].studio_id]["name"] == "Stashtag Demo"
        lines = store.get("1", store.model_ids()[0]).ocr
        assert lines and {(ln["source"], ln["frame"]) for ln in lines} == {("screenshot", -1)}
        assert fake.scenes["2"].studio_id is None
    # scene 2 has no cover: Stash serves its placeholder SVG, and OCR reads the sprite cells
    scenes = Scenes(sync.client, sync.tags, sync.settings)
    (two,) = list(sync.client.find_scenes())[1:2]
    assert scenes._screenshot(two) is None
    views, _ = scenes.source(two, []).load().ocr_views(np.array([0, 8]))
    assert [(v.source, v.frames.tolist()) for v in views] == [("sprite", [0, 8])]


def test_missing_sprite_queues_generation_then_succeeds(stash, triton, tmp_path):
    fake, url = stash
    with Store(tmp_path / "s.db") as store:
        sync = make_sync(url, store, triton)
        first = run(sync, "id:4")
        assert first[0].status == "error" and "sprite generation was queued" in first[0].error
        assert ERROR_TAG in names(fake, "4")
        assert fake.jobs and fake.jobs[-1]["sceneIDs"] == ["4"] and fake.jobs[-1]["sprites"]
        second = run(sync, "id:4")
        assert second[0].status == "tagged"
        assert ERROR_TAG not in names(fake, "4") and DONE_TAG in names(fake, "4")
        record = store.get("4", store.model_ids()[0])
        assert record.frames == 81 and record.time_basis == "duration"  # Stash's 9×9 sprite


def test_stash_500s_and_timeouts_are_retried(stash, triton, tmp_path):
    fake, url = stash
    fake.faults.fail_next = 3
    fake.faults.delay_next, fake.faults.delay_s = 1, 3.0  # over the 2 s client timeout
    with Store(tmp_path / "s.db") as store:
        reports = run(make_sync(url, store, triton), "queued")
    assert [r.status for r in reports] == ["tagged"] * 3


def test_interrupted_write_resumes_without_duplicates(stash, triton, tmp_path):
    fake, url = stash
    fake.faults.fail_mutations_after = 6  # Stash starts failing writes mid-run
    with Store(tmp_path / "s.db") as store:
        sync = make_sync(url, store, triton)
        first = run(sync, "queued")
        assert any(r.status == "error" for r in first)
        fake.faults.fail_mutations_after = None
        second = run(sync, "queued")
        assert [r.status for r in second] == ["tagged"] * len(second)
    for sid in "123":
        tags = fake.scenes[sid].tag_ids
        assert len(tags) == len(set(tags))
        keys = [(m["title"], m["seconds"]) for m in fake.markers.values() if m["scene_id"] == sid]
        assert len(keys) == len(set(keys)), "duplicated markers"
        assert QUEUE_TAG not in names(fake, sid) and DONE_TAG in names(fake, sid)


def test_lost_answers_to_creates_do_not_duplicate(stash, triton, tmp_path):
    """Stash applies a create but the answer is lost: stashtag looks before re-sending."""
    fake, url = stash
    fake.faults.drop_after_next = 4  # the first writes: tagCreate (AI, AI_Tagged, …)
    fake.faults.drop_after_match = "tagCreate"
    with Store(tmp_path / "s.db") as store:
        reports = run(make_sync(url, store, triton), "queued")
    assert [r.status for r in reports] == ["tagged"] * 3
    names_seen = [t["name"].casefold() for t in fake.tags.values()]
    assert len(names_seen) == len(set(names_seen)), "a tag was created twice"
    for sid in "123":
        keys = [(m["title"], m["seconds"]) for m in fake.markers.values() if m["scene_id"] == sid]
        assert len(keys) == len(set(keys)), "duplicated markers"
    # and with lost answers on marker creates in particular
    with Store(tmp_path / "s2.db") as store:
        for m in [m for m in fake.markers.values() if m["title"].startswith(MARKER_PREFIX)]:
            del fake.markers[m["id"]]
        fake.faults.drop_after_next, fake.faults.drop_after_match = 3, "sceneMarkerCreate"
        reports = run(make_sync(url, store, triton), "id:1,2,3")
    assert all(r.status == "tagged" for r in reports)
    assert fake.faults.drop_after_next == 0, "the marker creates never lost an answer"
    for sid in "123":
        keys = [(m["title"], m["seconds"]) for m in fake.markers.values() if m["scene_id"] == sid]
        assert len(keys) == len(set(keys)), "duplicated markers"


def test_undo_removes_only_stashtags_work(stash, triton, tmp_path):
    fake, url = stash
    with Store(tmp_path / "s.db") as store:
        sync = make_sync(url, store, triton)
        run(sync, "queued")
        sync.writer.undo(sync.scenes("all"))
    assert "Beach" in names(fake, "1") and "900" in fake.markers
    assert not any(m["title"].startswith(MARKER_PREFIX) for m in fake.markers.values())
    ai_children = {t["id"] for t in fake.tags.values() if t["parent_ids"]}
    assert not any(set(s.tag_ids) & ai_children for s in fake.scenes.values())


def test_exact_tag_lookup_and_auth(stash):
    _fake, url = stash
    client = StashClient(StashConnection(url, API_KEY))
    assert client.find_tag("SEASIDE")["name"] == "Beach"  # aliases, case-insensitive
    assert client.find_tag("Beac_") is None  # EQUALS is LIKE on the server: checked exactly here
    with pytest.raises(StashError, match="401"):
        StashClient(StashConnection(url, "wrong")).find_tag("Beach")
    with pytest.raises(StashError, match="Cannot query field"):
        client.gql("query { findScenes { count duration } }")


def plugin_input(url: str, args: dict) -> str:
    """What Stash writes to the plugin's stdin (the recorded shape: session cookie, no key)."""
    return json.dumps(plugin_stdin(url, "sess-" + API_KEY, ".", ".", args))


def run_plugin(tmp_path, url: str, args: dict) -> tuple[int, dict, list[tuple[str, str]]]:
    """Run plugin/stashtag_plugin.py exactly as Stash does: stdin JSON, stderr log, stdout JSON."""
    entry = Path(__file__).resolve().parents[2] / "plugin" / "stashtag_plugin.py"
    proc = subprocess.run(
        [sys.executable, str(entry)],
        input=plugin_input(url, args),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        check=False,
    )
    logs = [
        (line[1], line[3:])
        for line in proc.stderr.splitlines()
        if line.startswith("\x01") and line[2] == "\x02"
    ]
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1]), logs


def test_plugin_entry_as_stash_runs_it(stash, triton, tmp_path):
    fake, url = stash
    fake.plugin_settings["stashtag"] = {
        "1_tritonEndpoints": triton.options.grpc_url,
        "storePath": str(tmp_path / "p.db"),
    }
    code, result, logs = run_plugin(tmp_path, url, {"task": "tag", "scenes": "queued"})
    assert code == 0 and result["error"] is None, (result, logs)
    assert result["output"]["tagged"] == 3
    levels = {level for level, _ in logs}
    assert "p" in levels and "i" in levels
    fractions = [float(msg) for level, msg in logs if level == "p"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert DONE_TAG in names(fake, "1")

    # hook: off by default (Stash waits for it during a scan), then queue-only
    hook = {"hookContext": {"id": 4, "type": "Scene.Create.Post", "input": None}}
    code, result, _ = run_plugin(tmp_path, url, hook)
    assert code == 0 and result["output"]["action"] == "off" and QUEUE_TAG not in names(fake, "4")
    fake.plugin_settings["stashtag"]["queueNewScenes"] = True
    code, result, _ = run_plugin(tmp_path, url, hook)
    assert code == 0 and result["output"]["action"] == "queued" and QUEUE_TAG in names(fake, "4")
    # tag on create, no sprite yet: queued and its sprite asked for, no video decoded
    fake.plugin_settings["stashtag"] |= {"queueNewScenes": False, "tagOnCreate": True}
    jobs = len(fake.jobs)
    code, result, _ = run_plugin(tmp_path, url, hook)
    assert code == 0 and result["output"]["action"] == "queued", result
    assert fake.jobs[jobs:] and fake.jobs[-1]["sceneIDs"] == ["4"] and fake.jobs[-1]["sprites"]
    # ... and a tag run queued behind the generation (once: a second new scene finds it waiting)
    assert [j["task_name"] for j in fake.task_jobs] == ["Tag queued scenes"]
    code, result, _ = run_plugin(tmp_path, url, hook)
    assert code == 0 and len(fake.task_jobs) == 1
    # ... once Stash made it, the hook tags the scene at once
    fake.scenes["4"].sprite, fake.scenes["4"].vtt = fake.scenes["4"].pending_sprite
    code, result, logs = run_plugin(tmp_path, url, hook)
    assert code == 0 and result["output"]["reports"][0]["status"] == "tagged", (result, logs)
    assert DONE_TAG in names(fake, "4")
    fake.plugin_settings["stashtag"]["tagOnCreate"] = False
    fake.scenes["4"].sprite = fake.scenes["4"].vtt = None  # deleted since: generate asks again

    # retag from cache: no Triton needed
    fake.plugin_settings["stashtag"]["1_tritonEndpoints"] = "127.0.0.1:1"
    code, result, logs = run_plugin(tmp_path, url, {"task": "retag", "scenes": "all"})
    assert code == 0, (result, logs)
    assert sum(r["status"] == "tagged" for r in result["output"]["reports"]) == 4

    code, result, _ = run_plugin(tmp_path, url, {"task": "duplicates"})
    assert code == 0 and isinstance(result["output"]["duplicates"], list)
    code, result, _ = run_plugin(tmp_path, url, {"task": "generate"})
    assert code == 0 and result["output"]["generate"] == ["4"] and fake.jobs[-1]["sprites"]

    code, result, _ = run_plugin(tmp_path, url, {"task": "undo"})
    assert code == 0 and result["output"]["undone"] == 4
    assert not any(m["title"].startswith(MARKER_PREFIX) for m in fake.markers.values())


def test_plugin_reports_unreachable_stash(tmp_path):
    code, result, logs = run_plugin(tmp_path, "http://127.0.0.1:9", {"task": "tag"})
    assert code == 1 and "Stash" in result["error"] and any(lv == "e" for lv, _ in logs)


def test_incorrect_feedback_recorded_and_shell_command(stash, triton, tmp_path):
    from typer.testing import CliRunner

    from stashtag.cli import app

    fake, url = stash
    db = tmp_path / "cli.db"
    args = [
        "stash",
        "--stash-url",
        url,
        "--stash-api-key",
        API_KEY,
        "--triton",
        triton.options.grpc_url,
        "--store",
        str(db),
        "--scenes",
        "queued",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert DONE_TAG in names(fake, "2")
    fake.scenes["2"].tag_ids.append(fake.add_tag("AI_Incorrect"))
    out = tmp_path / "reports.csv"
    result = CliRunner().invoke(app, [*args[:-1], "id:2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import csv

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["scene_id"], r["status"]) for r in rows] == [("2", "tagged")]
    assert "1 item(s)" in result.output  # the summary table
    with Store(db) as store:
        rows = store.db.execute("SELECT scene_id, tags FROM stash_feedback").fetchall()
    assert rows and rows[0][0] == "2" and rows[0][1]  # stashtag's tags on it, kept as negatives


def test_scenes_are_written_back_while_later_ones_are_in_flight(triton, tmp_path):
    """Tags land scene by scene: the first scene is written before the last one is even
    loaded, and paging by id never skips a queued scene though each write shrinks the queue."""
    fake = FakeStash(API_KEY)
    queue = fake.add_tag(QUEUE_TAG)
    for i in range(1, 15):
        scene = fake.add_scene(
            FakeScene(str(i), f"S{i}", f"/nowhere/{i}.mp4", f"{i:016x}", duration=30.0)
        )
        scene.sprite, scene.vtt = sprite_pair(i, scene.oshash)
        scene.tag_ids.append(queue)
    events: list[tuple[str, str]] = []
    update = fake.bulkSceneUpdate

    def recorded_update(info, input):
        if QUEUE_TAG in {fake.tags[t]["name"] for t in input["tag_ids"]["ids"]}:
            events.extend(("written", i) for i in input["ids"])  # the queue tag comes off last
        return update(info, input)

    fake.bulkSceneUpdate = recorded_update
    server, url = serve(fake)
    try:
        with Store(tmp_path / "s.db") as store:
            sync = make_sync(url, store, triton, max_in_flight=1)
            source = sync.items.source

            def recorded_source(scene, to_generate):
                src = source(scene, to_generate)
                load = src.loader

                def loader():
                    events.append(("loaded", scene.id))
                    return load()

                return replace(src, loader=loader)

            sync.items.source = recorded_source
            sync.client.page_size = 4  # several pages, each read after earlier writes
            reports = asyncio.run(sync.run(sync.scenes("queued")))
    finally:
        server.shutdown()
    assert len(reports) == 14 and {r.status for r in reports} == {"tagged"}
    assert sorted(int(i) for k, i in events if k == "written") == list(range(1, 15))
    first_written = events.index(next(e for e in events if e[0] == "written"))
    assert events.index(("loaded", "14")) > first_written, events
    assert all(QUEUE_TAG not in names(fake, s) for s in fake.scenes)


def test_sprite_generation_is_queued_in_batches_during_the_run(triton, tmp_path):
    """A library without sprites: generation jobs go out while the run goes on (a stopped
    run has queued what it found), each scene in exactly one job."""
    fake = FakeStash(API_KEY)
    for i in range(1, 8):
        fake.add_scene(FakeScene(str(i), f"S{i}", f"/nowhere/{i}.mp4", f"{i:016x}", 30.0))
    server, url = serve(fake)
    try:
        with Store(tmp_path / "s.db") as store:
            sync = make_sync(url, store, triton, max_in_flight=1)
            sync.generate_batch = 3
            reports = asyncio.run(sync.run(sync.scenes("all")))
    finally:
        server.shutdown()
    assert {r.status for r in reports} == {"error"}
    batches = [job["sceneIDs"] for job in fake.jobs if job.get("sprites")]
    assert len(batches) >= 2, batches
    assert sorted(int(i) for b in batches for i in b) == list(range(1, 8))
