"""A corpus of bad inputs through a real run: each scene gets a precise error (AI_Errored, the
reason in the report), the server stays up and the good scenes around them are tagged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stashtag_client.frames.sources import SceneSource
from stashtag_client.inference.pipeline import TagRun, server_model_id
from stashtag_client.inference.transport import EndpointPool, parse_endpoints
from stashtag_client.stash.workflow import DONE_TAG, ERROR_TAG, QUEUE_TAG
from stashtag_client.store import Store
from tests.fakestash import FakeScene, FakeStash, serve
from tests.reliability.corpus import corpus
from tests.reliability.library import API_KEY, make_sync, names, small_sprite


def test_bad_scenes_in_a_stash_run(triton, tmp_path, figures):
    cases = corpus()
    fake = FakeStash(API_KEY)
    queue = fake.add_tag(QUEUE_TAG)
    bad_ids, good_ids = {}, []
    for i, case in enumerate(cases):
        for kind in ("bad", "good"):  # every bad scene has a good neighbour
            sid = str(2 * i + (kind == "good") + 1)
            oshash = f"{int(sid):016x}"
            duration = case.duration if kind == "bad" else 30.0
            scene = fake.add_scene(
                FakeScene(sid, f"{kind}: {case.name}", f"/nowhere/{sid}.mp4", oshash, duration)
            )
            scene.tag_ids.append(queue)
            if kind == "bad":
                scene.sprite, scene.vtt = case.sprite, case.vtt
                if case.sprite is None:
                    scene.sprite = None
                bad_ids[sid] = case
            else:
                scene.sprite, scene.vtt = small_sprite(int(sid), oshash)
                good_ids.append(sid)
    http, url = serve(fake)
    try:
        with Store(tmp_path / "s.db") as store:
            sync = make_sync(url, store, triton.options.grpc_url)
            reports = {r.scene_id: r for r in asyncio.run(sync.run(sync.scenes("queued")))}
    finally:
        http.shutdown()
    wrong = []
    for sid, case in bad_ids.items():
        r = reports[sid]
        oshash = f"{int(sid):016x}"
        expect = case.expect.format(
            path=f"/nowhere/{sid}.mp4",
            base=f"{url}/scene/{oshash}",
            hash=oshash,
            sid=sid,
            title=f"bad: {case.name}",
        )
        if r.status != "error" or r.error != expect:
            wrong.append(f"{case.name}: {r.status} {r.error!r} (expected {expect!r})")
        elif ERROR_TAG not in names(fake, sid):
            wrong.append(f"{case.name}: no {ERROR_TAG} tag")
    assert wrong == []
    assert all(reports[s].status == "tagged" and DONE_TAG in names(fake, s) for s in good_ids)
    assert triton.ready()
    figures.update(
        bad_inputs=len(bad_ids),
        precise_errors=len(bad_ids) - len(wrong),
        good_scenes_tagged=len(good_ids),
        errors={case.name: reports[sid].error for sid, case in bad_ids.items()},
    )


def test_bad_local_files(triton, tmp_path, figures):
    """Missing files, unicode paths and a folder where a file should be, without Stash."""
    root = tmp_path / "lib ✓ 日本語"
    root.mkdir()
    sprite, vtt = small_sprite(1, "scène")
    (root / "scène_sprite.jpg").write_bytes(sprite)
    (root / "scène_thumbs.vtt").write_text(vtt)
    (root / "lonely_sprite.jpg").write_bytes(sprite)  # its VTT is missing
    (root / "folder.jpg").mkdir()
    sources = {
        "unicode path (good)": (
            SceneSource("good", "sprite", root / "scène_sprite.jpg", root / "scène_thumbs.vtt"),
            None,
        ),
        "missing image": (SceneSource("a", "image", root / "ghost.jpg"), "ghost.jpg: file not"),
        "missing VTT": (
            SceneSource("b", "sprite", root / "lonely_sprite.jpg", root / "lonely_thumbs.vtt"),
            "lonely_thumbs.vtt: file not found",
        ),
        "unicode missing": (
            SceneSource("c", "image", root / "fehlt – ü.jpg"),
            "fehlt – ü.jpg: file not found",
        ),
        "folder as image": (SceneSource("d", "image", root / "folder.jpg"), "cannot read"),
    }

    async def main():
        async with EndpointPool(parse_endpoints(triton.options.grpc_url), 4) as pool:
            model_id = await server_model_id(pool)
            with Store(tmp_path / "s.db") as store:
                return await TagRun(pool, store, model_id, "none").run(
                    [s for s, _ in sources.values()]
                )

    outcomes = {o.scene: o for o in asyncio.run(main())}
    for name, (source, expect) in sources.items():
        o = outcomes[source.scene]
        if expect is None:
            assert o.status == "stored", (name, o.error)
        else:
            assert o.status == "error" and expect in o.error, (name, o.error)
            assert str(Path(source.path).parent) in o.error or source.path.name in o.error
    figures.update(local_inputs=len(sources) - 1)
