"""Similar scenes, duplicates confirmed by frame alignment, and text search (synthetic store)."""

import numpy as np
import pytest

from stashtag_client.store import SceneRecord, Store
from stashtag_client.tagging.similarity import SceneIndex, find_duplicates, frame_alignment, search

RNG = np.random.default_rng(0)
DIM = 32


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def record(scene: str, dino: np.ndarray, clip: np.ndarray | None = None, step: float = 2.0):
    n = len(dino)
    clip = unit(RNG.standard_normal((n, 16))) if clip is None else clip
    return SceneRecord(
        scene,
        "m",
        scene,
        "duration",
        np.arange(n) * step,
        clip,
        dino,
        dino,
        [np.zeros((0, 6), np.float32)] * n,
    )


@pytest.fixture()
def store(tmp_path):
    # A: a "scene" whose frames drift slowly (a real video's frames are correlated)
    base = unit(RNG.standard_normal(DIM))
    walk = unit(base + np.cumsum(RNG.standard_normal((40, DIM)) * 0.15, axis=0))
    other = unit(base * 0.9 + RNG.standard_normal((40, DIM)) * 0.3)  # same "room", other shots
    recs = [
        record("A", walk),
        record("A-trimmed-reencode", unit(walk[8:] + RNG.standard_normal((32, DIM)) * 0.01)),
        record("A-shuffled", walk[RNG.permutation(40)]),  # same mean, frames out of order
        record("B-same-room", other),
        record("C-unrelated", unit(RNG.standard_normal((40, DIM)))),
    ]
    with Store(tmp_path / "s.db") as s:
        for r in recs:
            s.put(r)
        yield s


def test_duplicates_need_aligned_frames(store):
    found = find_duplicates(store, "m", scene_threshold=0.9)
    pairs = {frozenset((d.a, d.b)): d for d in found}
    assert frozenset(("A", "A-trimmed-reencode")) in pairs
    d = pairs[frozenset(("A", "A-trimmed-reencode"))]
    assert d.aligned > 0.95
    assert abs(d.offset_s) == pytest.approx(16.0, abs=2.1)  # trimmed 8 frames × 2 s
    # shuffled frames share the mean exactly but not the order; same room is not the same video
    assert frozenset(("A", "A-shuffled")) not in pairs
    assert not any("B-same-room" in p or "C-unrelated" in p for p in pairs)


def test_shuffled_scene_has_high_mean_but_poor_alignment(store):
    a, shuffled = store.get("A", "m"), store.get("A-shuffled", "m")
    index = SceneIndex.from_store(store, "m")
    assert index.similar("A", 1)[0].score > 0.999
    aligned, _ = frame_alignment(a, shuffled)
    assert aligned < 0.8


def test_similar_ranks_and_excludes_itself(store):
    neighbours = SceneIndex.from_store(store, "m").similar("A", 4)
    names = [n.scene for n in neighbours]
    assert "A" not in names and names[-1] == "C-unrelated"
    assert [n.score for n in neighbours] == sorted((n.score for n in neighbours), reverse=True)
    with pytest.raises(KeyError, match="not in the store"):
        SceneIndex.from_store(store, "m").similar("nope")


def test_search_finds_the_frame(store):
    target = store.get("B-same-room", "m")
    hits = search(store, "m", target.clip[17], limit=3)
    assert hits[0].scene == "B-same-room" and hits[0].frame == 17
    assert hits[0].time == pytest.approx(34.0) and hits[0].score == pytest.approx(1.0, abs=1e-3)


def _exhaustive(store, query, limit):
    """Every frame of every record scored: what the scene index must reproduce."""
    hits = []
    for r in store.records("m"):
        sims = unit(r.clip) @ unit(query)
        hits.append((round(float(sims.max()), 4), r.scene, int(sims.argmax())))
    return sorted(hits, key=lambda h: (-h[0], h[1]))[:limit]


def test_indexed_search_equals_scoring_every_frame(tmp_path):
    """Scenes of many shots (more than the index keeps per scene): the candidates picked by
    representatives, re-ranked on all frames, give the exhaustive ranking of the matches."""
    dim, shots = 64, unit(RNG.standard_normal((300, 64)))
    with Store(tmp_path / "s.db") as s:
        for i in range(120):
            picks = RNG.choice(len(shots), 20)  # 20 shots of 3 frames, each frame near its shot
            clip = unit(np.repeat(shots[picks], 3, axis=0) + RNG.standard_normal((60, dim)) * 0.1)
            s.put(record(f"s{i:03d}", unit(RNG.standard_normal((60, DIM))), clip))
        reps = s.db.execute("SELECT rep_count FROM scene_index").fetchall()
        assert max(r[0] for r in reps) == 16  # capped: not every shot has its own representative
        for q in range(20):
            query = shots[q] + RNG.standard_normal(dim) * 0.05
            got = search(s, "m", query, limit=5)
            # the scenes holding the query's shot, exactly; below them random shots' chance
            # similarity (noise that averaged representatives do not promise to keep in order)
            relevant = [h for h in _exhaustive(s, query, 5) if h[0] >= 0.6]
            assert relevant and [(h.scene, h.frame) for h in got[: len(relevant)]] == [
                (scene, frame) for _, scene, frame in relevant
            ]
            assert [h.score for h in got[: len(relevant)]] == pytest.approx(
                [score for score, _, _ in relevant], abs=2e-4
            )


def test_index_is_rebuilt_for_a_store_written_before_it(tmp_path, store):
    """A version-4 store (no scene index) gets one on opening, from its records."""
    from stashtag_client.store_schema import SCHEMA_VERSION, schema_version

    path = store.path
    store.db.execute("DROP TABLE scene_index")
    store.db.execute("ALTER TABLE scenes DROP COLUMN seen")  # version 7's
    store.db.execute("PRAGMA user_version = 4")
    store.db.commit()
    store.close()
    with Store(path) as again:
        assert schema_version(again.db) == SCHEMA_VERSION
        # what every web UI call asks first is answered from an index, not a scan (v6)
        plan = again.db.execute(
            "EXPLAIN QUERY PLAN SELECT model_id FROM scenes ORDER BY updated DESC LIMIT 1"
        ).fetchall()
        assert "scenes_updated" in str(plan)
        keys, vectors = again.scene_vectors("m")
        assert len(keys) == 5 and vectors.shape == (5, DIM)
        hits = search(again, "m", again.get("B-same-room", "m").clip[17], limit=1)
        assert hits[0].scene == "B-same-room" and hits[0].frame == 17


def test_stash_duplicates_pair_only_scenes(tmp_path):
    """Seen in a real Stash: once images were tagged, *Find duplicates* sent an image's store
    key ("image:6") to bulkSceneUpdate and the task failed."""
    from stashtag_client.settings import Settings
    from stashtag_client.stash.client import StashClient
    from stashtag_client.stash.http import StashConnection
    from stashtag_client.stash.sync import StashSync
    from stashtag_client.tagging.vocabulary import load_vocabulary
    from tests.fakestash import FakeScene, FakeStash, serve

    walk = unit(RNG.standard_normal(DIM) + np.cumsum(RNG.standard_normal((40, DIM)) * 0.15, 0))
    fake = FakeStash("key")
    for sid in ("1", "2"):
        fake.add_scene(FakeScene(sid, f"S{sid}", f"/v/{sid}.mp4", f"{int(sid):016x}", 80.0))
    server, url = serve(fake)
    try:
        with Store(tmp_path / "s.db") as store:
            for key in ("1", "2", "image:6"):  # the same picture three times
                store.put(record(key, unit(walk + RNG.standard_normal(walk.shape) * 0.01)))
            sync = StashSync(
                StashClient(StashConnection(url, "key")), store, load_vocabulary(),
                Settings("127.0.0.1:1"),
            )  # fmt: skip
            pairs = sync.duplicates("AI_Duplicate")
    finally:
        server.shutdown()
    assert [(d.a, d.b) for d in pairs] == [("1", "2")]
    assert [e[2] for e in fake.events if e[0] == "tags"] == [["1", "2"]]
