"""The async client against real Triton servers: cross-scene batching, resume, errors, failover."""

import asyncio
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stashtag.demo.samples import encode_jpeg, sprite_sheet, sprite_vtt
from stashtag.server import ServerOptions, TritonServer, free_port
from stashtag.statistics import counts, settled
from stashtag_client.frames.discovery import discover
from stashtag_client.frames.sources import SceneSource
from stashtag_client.frames.video import write_test_video
from stashtag_client.inference.pipeline import TagRun, server_model_id
from stashtag_client.inference.transport import EndpointPool, RetryPolicy, parse_endpoints
from stashtag_client.store import Store

FAST = RetryPolicy(attempts=8, base_delay_s=0.05, max_delay_s=0.5, cooldown_s=1.0, timeout_s=60)


def small_sprites(root: Path, count: int, start_seed: int = 100) -> list[Path]:
    """3×3 sprite sheets (160×90 cells) with their VTTs, each with different content."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        sheet = sprite_sheet(seed=start_seed + i)[: 3 * 90, : 3 * 160]
        sprite = root / f"scene{i:03d}_sprite.jpg"
        sprite.write_bytes(encode_jpeg(sheet))
        vtt = sprite_vtt(sprite.name, 60.0).split("\n\n")
        cues = [c for c in vtt[1:] if c.strip()]
        keep = [c for c in cues if _in_3x3(c)]
        (root / f"scene{i:03d}_thumbs.vtt").write_text("WEBVTT\n\n" + "\n".join(keep))
        paths.append(sprite)
    return paths


def _in_3x3(cue: str) -> bool:
    x, y, _, _ = (int(v) for v in cue.split("#xywh=")[1].split(","))
    return x < 480 and y < 270


def run(
    pool_url: str,
    store: Store,
    sources,
    in_flight=4,
    on_done=None,
    force=False,
    on_event=None,
    budget=None,
    detectors=None,
):
    async def main():
        endpoints = parse_endpoints(pool_url)
        async with EndpointPool(endpoints, in_flight, FAST, on_event=on_event) as pool:
            model_id = await server_model_id(pool)
            tag_run = TagRun(pool, store, model_id, "ends:1", on_done, detectors, budget)
            outcomes = await tag_run.run(sources, force)
            return model_id, outcomes, pool.status()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("library")
    small_sprites(root / "sprites", 8)
    write_test_video(root / "clip.mp4", seconds=3.0)
    (root / "still.jpg").write_bytes(encode_jpeg(sprite_sheet(seed=5)[:90, :160]))
    return root


def test_cross_scene_batching_returns_each_scene_its_frames(triton, client, library, tmp_path):
    sources = list(discover([library], video_frames=6, video_width=128))
    with Store(tmp_path / "s.db") as store:
        model_id, outcomes, _ = run(triton.options.grpc_url, store, sources, in_flight=6)
        assert {o.status for o in outcomes} == {"stored"}
        assert len(outcomes) == 10
        for src in sources:
            frames = src.load()
            want = client.tag_frames(frames.image, frames.rects)
            got = store.get(src.scene, model_id)
            assert got.frames == frames.frames
            # float16 storage: ~3 significant digits
            np.testing.assert_allclose(got.clip, want.clip, atol=2e-3)
            np.testing.assert_allclose(got.dino_cls, want.dino_cls, atol=2e-2, rtol=2e-3)
            for g, w in zip(got.detections, want.detections, strict=True):
                np.testing.assert_allclose(g, w, atol=1e-2)


def test_frame_budgets_store_what_each_model_saw_and_fill_gaps(triton, client, library, tmp_path):
    """A run with per-model frame budgets stores each model's rows for its frames (the rows a
    full run gives those frames); a later run whose budget needs more frames sends the scenes
    again, one that needs no more skips them."""
    from stashtag_client.inference.budget import FrameBudget

    sources = list(discover([library / "sprites"]))[:3]
    detectors = {"content": ("x",) * 18}
    budget = FrameBudget.default(detectors)
    with Store(tmp_path / "s.db") as store:
        model_id, outcomes, _ = run(
            triton.options.grpc_url, store, sources, budget=budget, detectors=detectors
        )
        assert {o.status for o in outcomes} == {"stored"}
        for src in sources:
            frames = src.load()
            want = client.tag_frames(frames.image, frames.rects, detectors=["content"])
            got = store.get(src.scene, model_id)
            assert got.frames_of("yolo").tolist() == [0, 3, 6]
            assert got.frames_of("dino").tolist() == [0, 2, 4, 6, 8]
            assert len(got.detections) == 3 and len(got.detected["content"].frames) == 3
            np.testing.assert_allclose(got.clip, want.clip, atol=2e-3)
            np.testing.assert_allclose(
                got.dino_cls, want.dino_cls[[0, 2, 4, 6, 8]], atol=2e-2, rtol=2e-3
            )
            for g, i in zip(got.detections, [0, 3, 6], strict=True):
                np.testing.assert_allclose(g, want.detections[i], atol=1e-2)
        _, again, _ = run(
            triton.options.grpc_url, store, sources, budget=budget, detectors=detectors
        )
        assert {o.status for o in again} == {"skipped"}
        more = FrameBudget({**budget.strides, "yolo": 1})
        _, filled, _ = run(
            triton.options.grpc_url, store, sources, budget=more, detectors=detectors
        )
        assert {o.status for o in filled} == {"stored"}
        assert store.get(sources[0].scene, model_id).frames_of("yolo").tolist() == list(range(9))


def test_resume_skips_stored_scenes(triton, triton_admin, library, tmp_path):
    sources = list(discover([library / "sprites"]))
    with Store(tmp_path / "s.db") as store:
        run(triton.options.grpc_url, store, sources[:3])
        before = _count(triton_admin, "preprocess")  # one execution per request
        _, outcomes, _ = run(triton.options.grpc_url, store, sources)
        statuses = {o.scene: o.status for o in outcomes}
        assert [statuses[s.scene] for s in sources[:3]] == ["skipped"] * 3
        assert [statuses[s.scene] for s in sources[3:]] == ["stored"] * 5
        assert _count(triton_admin, "preprocess") - before == 5  # nothing re-sent


def test_bad_scenes_get_errors_and_the_run_continues(triton, library, tmp_path):
    root = tmp_path / "bad"
    _good, truncated, wrong_vtt = small_sprites(root, 3, start_seed=7)
    truncated.write_bytes(truncated.read_bytes()[:2000])  # header intact: only the server sees it
    wrong_vtt.with_name("scene002_thumbs.vtt").write_text(sprite_vtt("x", 60.0, 400, 400))
    missing = SceneSource("ghost", "image", root / "ghost.jpg")
    sources = [*discover([root]), missing]
    with Store(tmp_path / "s.db") as store:
        model_id, outcomes, _ = run(triton.options.grpc_url, store, sources)
        by_scene = {Path(o.scene).name: o for o in outcomes}
        assert by_scene["scene000"].status == "stored"
        assert by_scene["scene001"].status == "error"
        assert "scene001_sprite.jpg" in by_scene["scene001"].error
        assert "JPEG" in by_scene["scene001"].error
        assert "does not belong to this sprite" in by_scene["scene002"].error
        assert "ghost.jpg: file not found" in by_scene["ghost"].error
        assert set(store.errors(model_id)) == {s.scene for s in sources[1:]}
        # fixing the file and re-running picks the scene up; stored ones stay
        small_sprites(root, 2, start_seed=7)
        _, again, _ = run(triton.options.grpc_url, store, sources[:2])
        assert [o.status for o in again] in (["skipped", "stored"], ["stored", "skipped"])
        assert "scene001" not in {Path(s).name for s in store.errors(model_id)}


def test_failover_when_one_server_is_killed(triton, tiny_repo, tmp_path):
    sources = list(discover([Path(p).parent for p in small_sprites(tmp_path / "lib", 12, 300)[:1]]))
    opts = ServerOptions(
        tiny_repo, free_port(), free_port(), free_port(), log_file=tmp_path / "second.log"
    )
    with TritonServer(opts) as second, Store(tmp_path / "s.db") as store:
        done = []

        def on_done(outcome):
            done.append(outcome)
            if len(done) == 3:
                os.killpg(second.process.pid, signal.SIGKILL)

        url = f"{triton.options.grpc_url},{opts.grpc_url}=3"
        events: list[str] = []
        model_id, outcomes, status = run(
            url, store, sources, in_flight=6, on_done=on_done, on_event=events.append
        )
        assert len(events) == 1, events  # the outage is reported, once
        assert events[0].startswith(f"{opts.grpc_url} is down (UNAVAILABLE")
        assert events[0].endswith("its work moves to the other endpoints")
        assert second.process.poll() is not None, "the second server should have been killed"
        assert [o.status for o in outcomes] == ["stored"] * 12
        assert store.count(model_id) == 12
        first, killed = status
        assert not killed["healthy"] and first["healthy"] and first["served"] > 0


def test_tag_command_end_to_end(triton, library, tmp_path):
    from stashtag.cli import app

    out = tmp_path / "results.json"
    args = [
        "tag",
        str(library / "sprites"),
        str(tmp_path / "nothing.jpg"),
        "--triton",
        triton.options.grpc_url,
        "--store",
        str(tmp_path / "s.db"),
        "--out",
        str(out),
        "--quiet",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output  # one scene failed
    results = json.loads(out.read_text())
    assert len(results) == 9
    errors = [r for r in results if r["error"]]
    assert len(errors) == 1 and "nothing.jpg: file not found" in errors[0]["error"]
    ok = [r for r in results if not r["error"]]
    assert all(r["frames"] == 9 and r["time_basis"] == "vtt" for r in ok)
    assert "frames/s" in result.output and "ms/frame" in result.output

    retag = CliRunner().invoke(
        app,
        ["retag", "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "re.json"), "--quiet"],
    )
    assert retag.exit_code == 0, retag.output
    again = json.loads((tmp_path / "re.json").read_text())
    assert [r["tags"] for r in again] == [r["tags"] for r in ok]


def test_ocr_frames_all_reads_every_frame_of_a_stash_sprite(triton, tmp_path):
    """``tag --ocr-frames all`` on a 9×9 sprite: 81 frames through OCR in one scene (ocr_det
    batches 16 at most; the BLS sends it 8 a call), every frame read, the tags kept."""
    from stashtag.cli import app
    from stashtag.demo.samples import text_frame

    sheet = np.tile(text_frame("STASHTAG", 320, 180), (9, 9, 1))
    (tmp_path / "all_sprite.jpg").write_bytes(encode_jpeg(sheet))
    (tmp_path / "all_thumbs.vtt").write_text(sprite_vtt("all_sprite.jpg", 81.0, 320, 180))
    args = ["tag", str(tmp_path / "all_sprite.jpg"), "--triton", triton.options.grpc_url]
    args += ["--store", str(tmp_path / "s.db"), "--ocr-frames", "all", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store(tmp_path / "s.db") as store:
        (record,) = store.records(store.model_ids()[0])
    assert record.frames == 81 and record.ocr_error == ""
    assert {line["frame"] for line in record.ocr} == set(range(81))
    assert {line["source"] for line in record.ocr} == {"sprite"}
    assert all("STASHTAG" in line["text"].upper() for line in record.ocr)


def _count(admin, model: str) -> int:
    """Executions of ``model``, read once the counter has settled."""
    return settled(lambda: counts(admin, model)[1], interval_s=0.25)


def test_timeout_on_a_busy_server_keeps_the_endpoint(triton, library):
    """A request that times out on a server that still answers is retried with a longer
    timeout, and the endpoint is not taken out (that would re-send the work elsewhere and
    pile it onto a server still computing it)."""
    from stashtag_client.inference.transport import TransportError

    sprite = next(iter(discover([library / "sprites"], 9, 160))).load()
    policy = RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.05, timeout_s=0.0005)

    async def main():
        async with EndpointPool(parse_endpoints(triton.options.grpc_url), 1, policy) as pool:
            with pytest.raises(TransportError, match="DEADLINE_EXCEEDED"):
                await pool.infer(
                    "tagger",
                    {"jpeg": np.frombuffer(sprite.image, np.uint8), "rects": sprite.rects},
                    ["clip_embedding"],
                )
            return pool.busy_timeouts, pool.status()

    busy, status = asyncio.run(main())
    assert busy == 3 and status[0]["healthy"]


def test_any_surprise_while_loading_is_that_scenes_error(tmp_path):
    """A loader that fails in a way nobody planned for ends one scene, not the run."""
    import asyncio
    from pathlib import Path

    from stashtag_client.frames.sources import SceneSource
    from stashtag_client.inference.pipeline import TagRun
    from stashtag_client.store import Store

    def explode():
        raise OverflowError("Python int too large to convert to C long")

    with Store(tmp_path / "s.db") as store:
        run = TagRun(None, store, "m")  # the pool is never reached: loading fails first
        src = SceneSource("a", "sprite", Path("/lib/a_sprite.jpg"), loader=explode)
        outcome = asyncio.run(run.process(src))
        assert outcome.status == "error"
        assert outcome.error == (
            "/lib/a_sprite.jpg: OverflowError: Python int too large to convert to C long"
        )
        assert store.errors("m") == {"a": outcome.error}


def test_a_fresh_record_goes_to_mapping_without_a_store_read(
    triton, library, tmp_path, monkeypatch
):
    """Records flow forward: what was just stored is mapped from memory; only scenes a
    previous run stored are read back."""
    from stashtag_client.directory import run_tag
    from stashtag_client.settings import Settings
    from stashtag_client.tagging.vocabulary import load_vocabulary

    sources = list(discover([library / "sprites"]))[:4]
    settings = Settings(endpoints=triton.options.grpc_url, store=str(tmp_path / "s.db"))
    reads: list[str] = []
    real_get = Store.get
    monkeypatch.setattr(Store, "get", lambda s, k, m: reads.append(k) or real_get(s, k, m))
    first, stats = run_tag(sources[:2], settings, load_vocabulary(), quiet=True)
    assert stats.stored == 2 and reads == [] and all(r.frames == 9 for r in first)
    again, stats = run_tag(sources, settings, load_vocabulary(), quiet=True)
    assert stats.skipped == 2 and sorted(reads) == sorted(s.scene for s in sources[:2])
    assert [r.scene for r in again] == [s.scene for s in sources]  # in the order given
    assert [r.to_dict() for r in again[:2]] == [r.to_dict() for r in first]
