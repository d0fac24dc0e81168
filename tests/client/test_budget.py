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
