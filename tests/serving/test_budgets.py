"""Per-model frame budgets: each model of the tagger sees only the frames its list names."""

import numpy as np
import pytest

from stashtag.statistics import counts, settled
from stashtag_client.inference.grpc_client import ServerError


def _count(admin, model: str) -> int:
    return counts(admin, model)[0]


def _settled(admin, models, want: dict[str, int], timeout: float = 10.0) -> dict[str, int]:
    """Each model's inference count once those in ``want`` reached theirs."""
    return settled(
        lambda: {m: _count(admin, m) for m in models},
        lambda now, _: all(now[m] >= n for m, n in want.items()),
        timeout_s=timeout,
        interval_s=0.05,
    )


def test_each_model_answers_for_its_listed_frames(client, small_sprite):
    """The rows a model returns for its listed frames are the rows it returns for them when it
    sees every frame (same bucket: a request's frames share their shape)."""
    jpeg, rects = small_sprite  # 9 frames
    full = client.tag_frames(jpeg, rects, detectors=["content"])
    lists = {"yolo": [0, 3, 6], "dino": [0, 2, 4, 6, 8], "content": [1, 8]}
    got = client.tag_frames(jpeg, rects, detectors=["content"], frames=lists)
    np.testing.assert_allclose(got.clip, full.clip, atol=1e-5)  # unlisted: every frame
    np.testing.assert_allclose(got.dino_cls, full.dino_cls[lists["dino"]], atol=1e-4)
    np.testing.assert_allclose(got.dino_patch_mean, full.dino_patch_mean[lists["dino"]], atol=1e-4)
    assert len(got.detections) == 3
    for g, i in zip(got.detections, lists["yolo"], strict=True):
        np.testing.assert_allclose(g, full.detections[i], atol=1e-3)
    for g, i in zip(got.detected["content"], lists["content"], strict=True):
        np.testing.assert_allclose(g, full.detected["content"][i], atol=1e-3)
    assert {k: v.tolist() for k, v in got.seen.items()} == lists


def test_a_model_with_no_frames_does_not_run(client, triton_admin, small_sprite):
    jpeg, rects = small_sprite
    before = {m: _count(triton_admin, m) for m in ("yolo", "dinov2", "content", "clip_image")}
    got = client.tag_frames(
        jpeg, rects, detectors=["content"], frames={"yolo": [], "content": [], "dino": [4]}
    )
    want = {"dinov2": before["dinov2"] + 1, "clip_image": before["clip_image"] + len(rects)}
    after = _settled(triton_admin, before, want)
    assert after["yolo"] == before["yolo"] and after["content"] == before["content"]
    assert after["dinov2"] == before["dinov2"] + 1
    assert after["clip_image"] == before["clip_image"] + len(rects)
    assert got.detections == [] and got.detected["content"] == [] and len(got.dino_cls) == 1


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        ({"yolo": [3, 1]}, "yolo_frames must list frame indices in ascending order"),
        ({"dino": [0, 0]}, "dino_frames must list frame indices in ascending order"),
        ({"content": [9]}, "content_frames names frames outside 0..8"),
        ({"clip": [-1, 2]}, "clip_frames names frames outside 0..8"),
    ],
)
def test_bad_frame_lists_are_refused_clearly(client, small_sprite, lists, message):
    jpeg, rects = small_sprite
    with pytest.raises(ServerError, match=message):
        client.tag_frames(jpeg, rects, detectors=["content"], frames=lists)
    assert len(client.tag_frames(jpeg, rects).clip) == len(rects)  # the server goes on
