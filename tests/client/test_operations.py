"""The web UI's questions: ``runPluginOperation`` on the fake Stash starts the real plugin entry
(Stash's stdin/stdout protocol) against a store of synthetic records; search with a cached
query text (the Triton path is in the browser tests)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from stashtag_client.stash.answers import ANSWERS, mismatches
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection, StashError
from stashtag_client.store import SceneRecord, Store
from tests.fakestash import FakeScene, FakeStash, serve

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(7)
MODEL = "tiny-model"


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def record(scene: str, clip: np.ndarray, dino: np.ndarray, step: float = 2.0) -> SceneRecord:
    n = len(clip)
    empty = [np.zeros((0, 6), np.float32)] * n
    return SceneRecord(
        scene, MODEL, scene, "duration", np.arange(n) * step, clip, dino, dino, empty
    )


@pytest.fixture()
def ui(tmp_path):
    """(fake Stash, a client of it as the browser's Apollo would be, the store's path)."""
    fake = FakeStash("key")
    review = fake.add_tag("AI Review")
    fake.add_tag("AI")
    for i in range(1, 7):
        fake.add_scene(FakeScene(str(i), f"Scene {i}", f"/v/{i}.mp4", f"{i:016x}", 60.0))
    fake.scenes["5"].size, fake.scenes["5"].height = 9_000_000, 1080
    for name in ("Beach", "Night"):
        fake.scenes["2"].tag_ids.append(fake.add_tag(f"AI Review: {name}", parent_ids=[review]))
    store = tmp_path / "stashtag.db"
    fake.plugin_settings["stashtag"] = {"storePath": str(store)}
    fake.installed["stashtag"] = (ROOT / "plugin", sys.executable)
    base = unit(RNG.standard_normal((30, 24)))
    walk = unit(base[0] + np.cumsum(RNG.standard_normal((30, 24)) * 0.15, axis=0))
    with Store(store) as db:
        for i in range(1, 5):
            db.put(
                record(
                    str(i), unit(RNG.standard_normal((30, 16))), unit(RNG.standard_normal((30, 24)))
                )
            )
        db.put(record("5", unit(RNG.standard_normal((30, 16))), walk))
        db.put(record("6", unit(RNG.standard_normal((26, 16))), unit(walk[4:] + 0.01)))  # a trim
    server, url = serve(fake)
    yield fake, StashClient(StashConnection(url, "key")), store
    server.shutdown()


def operation(client: StashClient, **args):
    """Run one operation as the UI does; its answer must be what answers.py declares (the UI's
    TypeScript types are generated from that)."""
    data = client.gql(
        "mutation Op($id: ID!, $args: Map) { runPluginOperation(plugin_id: $id, args: $args) }",
        {"id": "stashtag", "args": args},
    )
    answer = data["runPluginOperation"]
    assert mismatches(answer, ANSWERS[args["op"]], args["op"]) == []
    return answer


def test_search_answers_from_the_index_with_the_frame_time(ui):
    fake, client, store = ui
    with Store(store) as db:
        target = db.get("3", MODEL).clip[11]
        db.cache_text(MODEL, {"a beach at night": target})  # asked before: no server needed
    out = operation(client, op="search", text="a beach at night", limit=3)
    first = out["hits"][0]
    assert (first["id"], first["frame"], first["time"]) == ("3", 11, 22.0)
    assert first["title"] == "Scene 3" and first["screenshot"].endswith(
        "/scene/3/screenshot?t=1700000000"
    )
    assert first["score"] == pytest.approx(1.0, abs=1e-3) and len(out["hits"]) == 3
    assert fake.operations[-1]["args"]["op"] == "search"


def test_search_narrowed_by_tag_and_studio_keeps_only_their_scenes(ui):
    fake, client, store = ui
    with Store(store) as db:
        db.cache_text(MODEL, {"a beach at night": db.get("3", MODEL).clip[11]})
    outdoor = fake.add_tag("Outdoor")
    beach = fake.add_tag("Beach", parent_ids=[outdoor])  # a sub-tag counts for its parent
    fake.scenes["4"].tag_ids.append(beach)
    fake.scenes["1"].tag_ids.append(outdoor)
    studio = fake.add_studio("Sunset Films")
    fake.studios[studio]["aliases"] = ["SSF"]
    fake.scenes["1"].studio_id = fake.scenes["3"].studio_id = studio

    def ids(**filters):
        out = operation(client, op="search", text="a beach at night", limit=6, **filters)
        return sorted(h["id"] for h in out["hits"]), out["filtered"]

    assert ids() == (["1", "2", "3", "4", "5", "6"], False)
    assert ids(tag="outdoor") == (["1", "4"], True)  # names match as Stash's do: any case
    assert ids(studio="SSF") == (["1", "3"], True)  # an alias
    assert ids(tag="Outdoor", studio="Sunset Films") == (["1"], True)
    with pytest.raises(StashError, match="no studio named 'Nobody'"):
        operation(client, op="search", text="a beach at night", studio="Nobody")
    with pytest.raises(StashError, match="no tag named 'Nothing'"):
        operation(client, op="search", text="a beach at night", tag="Nothing")


def test_similar_lists_neighbours_and_the_trimmed_copy_as_a_duplicate(ui):
    _, client, _ = ui
    out = operation(client, op="similar", scene_id="5", limit=3)
    first = out["neighbours"][0]
    assert first["id"] == "6" and first["duplicate"]["aligned"] > 0.95
    # its frame at t is this scene's at t + 8 s (4 frames × 2 s trimmed): offset b − a = −8 s
    assert first["duplicate"]["offset_s"] == pytest.approx(-8.0, abs=2.1)
    assert [n["duplicate"] for n in out["neighbours"][1:]] == [None, None]
    assert operation(client, op="similar", scene_id="99") == {
        "scene_id": "99",
        "tagged": False,
        "neighbours": [],
    }


def test_duplicates_group_and_marking_the_copy_tags_only_it(ui):
    fake, client, _ = ui
    groups = operation(client, op="duplicates")["groups"]
    assert [[s["id"] for s in g["scenes"]] for g in groups] == [["5", "6"]]
    assert groups[0]["scenes"][0]["size"] == 9_000_000 and groups[0]["scenes"][0]["height"] == 1080
    operation(client, op="mark_duplicates", scene_ids=["6"])
    marked = {fake.tags[t]["name"] for t in fake.scenes["6"].tag_ids}
    assert "AI_Duplicate" in marked and not fake.scenes["5"].tag_ids
    again = operation(client, op="duplicates")["groups"][0]["scenes"]
    assert [(s["id"], s["marked"]) for s in again] == [("5", False), ("6", True)]


def test_review_lists_suggestions_and_decide_writes_them_as_the_review_task_does(ui):
    fake, client, store = ui
    (scene,) = operation(client, op="review")["scenes"]
    assert scene["id"] == "2" and scene["suggestions"] == ["Beach", "Night"]
    out = operation(client, op="decide", scene_id="2", accept=["Beach"], reject=["Night"])
    assert out == {"scene_id": "2", "accepted": ["Beach"], "rejected": ["Night"]}
    assert {fake.tags[t]["name"] for t in fake.scenes["2"].tag_ids} == {"Beach"}
    assert operation(client, op="review")["scenes"] == []
    with Store(store) as db:
        verdicts = db.db.execute("SELECT tag, accepted FROM stash_review ORDER BY tag").fetchall()
        rejected = db.db.execute("SELECT tag_id FROM stash_rejected").fetchall()
    assert verdicts == [("Beach", 1), ("Night", 0)]
    assert [fake.tags[t]["name"] for (t,) in rejected] == ["AI Review: Night"]


def test_errors_come_back_as_graphql_errors_naming_the_problem(ui, tmp_path):
    fake, client, _ = ui
    with pytest.raises(StashError, match="unknown operation 'nope'"):
        operation(client, op="nope")
    with pytest.raises(StashError, match="type what to look for"):
        operation(client, op="search", text=" ")
    fake.plugin_settings["stashtag"]["storePath"] = str(tmp_path / "empty.db")
    with pytest.raises(StashError, match="holds no tagged scenes yet"):
        operation(client, op="similar", scene_id="1")
    assert all("\x01e\x02" in o["stderr"] for o in fake.operations)  # logged for Stash too


def test_every_operation_has_a_declared_answer_and_drift_is_caught():
    """The declaration covers every operation, and the check sees an answer that drifted."""
    from stashtag_client.stash.operations import Operations

    assert set(ANSWERS) == {n[3:] for n in dir(Operations) if n.startswith("op_")}
    good = {"marked": ["1"], "tag": "AI_Duplicate"}
    assert mismatches(good, ANSWERS["mark_duplicates"]) == []
    assert mismatches({**good, "pairs": []}, ANSWERS["mark_duplicates"]) == [
        "answer.pairs: not declared"
    ]
    assert mismatches({"marked": [1]}, ANSWERS["mark_duplicates"]) == [
        "answer.tag: missing",
        "answer.marked[0]: 1 is not str",
    ]
