import numpy as np
import pytest

from stashtag.processing.yolo import detect, postprocess_batch, unletterbox


def raw_outputs(n: int, classes: int = 80, anchors: int = 8400, seed: int = 0) -> np.ndarray:
    """Plausible raw heads: boxes spread over 640², a few confident class scores per frame."""
    rng = np.random.default_rng(seed)
    raw = np.zeros((n, 4 + classes, anchors), np.float32)
    raw[:, 0:2] = rng.uniform(0, 640, (n, 2, anchors))
    raw[:, 2:4] = rng.uniform(5, 200, (n, 2, anchors))
    raw[:, 4:] = rng.uniform(0, 0.3, (n, classes, anchors)) ** 2
    hot = rng.integers(0, anchors, (n, 300))
    for i in range(n):
        raw[i, 4 + rng.integers(0, classes, 300), hot[i]] = rng.uniform(0.3, 1.0, 300)
    return raw


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_ultralytics(seed):
    import torch
    from ultralytics.utils.nms import non_max_suppression

    raw = raw_outputs(2, seed=seed)
    want = non_max_suppression(torch.from_numpy(raw), conf_thres=0.25, iou_thres=0.45, max_det=100)
    for frame_raw, ref in zip(raw, want, strict=True):
        got = detect(frame_raw, 0.25, 0.45, 100)
        ref = ref.numpy()
        assert len(got) == len(ref) > 0
        order_got = np.lexsort((got[:, 0], -got[:, 4]))
        order_ref = np.lexsort((ref[:, 0], -ref[:, 4]))
        np.testing.assert_allclose(got[order_got], ref[order_ref], rtol=1e-5, atol=1e-3)


def test_no_candidates():
    raw = np.zeros((84, 8400), np.float32)
    assert detect(raw, 0.25, 0.45, 100).shape == (0, 6)


def test_unletterbox_clips_to_frame():
    dets = np.array([[0, 130, 700, 500, 0.9, 1]], np.float32)
    out = unletterbox(dets, np.array([4.0, 0, 140, 160, 90], np.float32))
    np.testing.assert_allclose(out[0, :4], [0, 0, 160, 90])


def test_postprocess_batch_pads():
    raw = raw_outputs(3, seed=5)
    lb = np.tile(np.array([1.0, 0, 0, 640, 640], np.float32), (3, 1))
    dets, counts = postprocess_batch(raw, lb, 0.25, 0.45, 100)
    assert dets.shape == (3, 100, 6) and counts.shape == (3, 1)
    for d, c in zip(dets, counts[:, 0], strict=True):
        assert (d[c:] == 0).all() and (d[:c, 4] > 0.25).all()
