"""The client's per-model frame budgets: which frames each model's list names."""

import numpy as np
import pytest

from stashtag_client.inference.budget import FrameBudget
from stashtag_client.inference.triton import frame_lists, tagger_outputs
from stashtag_core.modelspec import TAGGER


def test_default_budget_lists():
    budget = FrameBudget.default(["content"])
    lists = budget.lists(81)
    assert set(lists) == {"yolo", "dino", "content"}  # CLIP sees every frame: no list sent
    assert lists["yolo"].tolist() == list(range(0, 81, 3)) and len(lists["dino"]) == 41
    assert budget.frames("clip", 81).tolist() == list(range(81))
    assert budget.lists(1)["yolo"].tolist() == [0]  # a single image: every model sees it


def test_a_model_with_stride_zero_is_not_asked():
    lists = FrameBudget({"clip": 1, "yolo": 0, "dino": 2, "content": 0}).lists(9)
    outputs = tagger_outputs(["content"], lists)
    assert "detections" not in outputs and "content_detections" not in outputs
    assert outputs == TAGGER.outputs[:3]
    feed = frame_lists(lists)
    assert feed["yolo_frames"].dtype == np.int32 and feed["yolo_frames"].shape == (0,)


@pytest.mark.parametrize("strides", [{"clip": 2}, {"yolo": -1}, {"dino": 1.5}])
def test_bad_strides_are_refused(strides):
    with pytest.raises(ValueError, match=r"CLIP sees every frame|whole numbers"):
        FrameBudget(strides)


def test_parse_budget():
    from stashtag_client.inference.budget import parse_budget
    from stashtag_client.setting_values import SettingsError

    assert parse_budget("all") is None
    assert parse_budget("auto", ["content"]).strides == FrameBudget.default(["content"]).strides
    assert dict(parse_budget("yolo:1, dino:4").strides) == {"clip": 1, "yolo": 1, "dino": 4}
    for bad, message in (
        ("yolo", "use model:n"),
        ("cat:2", "the models are clip, yolo, dino"),
        ("dino:0", "DINOv2 feeds similar scenes"),
        ("clip:2", "CLIP sees every frame"),
    ):
        with pytest.raises(SettingsError, match=message):
            parse_budget(bad)


def test_store_keeps_which_frames_each_model_saw(tmp_path):
    from stashtag_client.store import Detected, SceneRecord, Store

    budget = FrameBudget.default(["content"])
    lists = budget.lists(9)
    rng = np.random.default_rng(0)
    clip = rng.normal(size=(9, 8)).astype(np.float32)
    dino = rng.normal(size=(5, 6)).astype(np.float32)
    dets = [np.zeros((0, 6), np.float32)] * 3
    record = SceneRecord(
        "a", "m", "a.jpg", "duration", np.arange(9.0), clip, dino, dino, dets,
        detected={"content": Detected(("FACE",), [np.zeros((0, 6), np.float32)] * 3)},
        seen=lists,
    )  # fmt: skip
    with Store(tmp_path / "s.db") as store:
        store.put(record)
        got = store.get("a", "m")
        assert {k: v.tolist() for k, v in got.seen.items()} == {
            k: v.tolist() for k, v in lists.items()
        }
        assert got.dino_cls.shape == (5, 6) and got.clip.shape == (9, 8)
        assert got.frames_of("dino").tolist() == [0, 2, 4, 6, 8]
        assert got.frames_of("clip").tolist() == list(range(9))
        assert store.has("a", "m", budget.needs)  # what this budget needs was seen
        assert not store.has("a", "m", FrameBudget({"yolo": 1}).needs)  # YOLO saw a third
        assert store.has("a", "m") and not store.has("b", "m", budget.needs)
        assert store.scene_vectors("m")[0] == ["a"]
