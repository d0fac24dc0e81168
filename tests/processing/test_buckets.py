"""Input-size buckets: which size a request gets, and that boxes stay exact at every size."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stashtag.processing.image import letterbox_batch, resize_letterbox
from stashtag.processing.yolo import postprocess_batch
from stashtag_core.modelspec.buckets import (
    DEFAULT_BUCKET_SCALE,
    aspect_bucket,
    dino_buckets,
    format_sizes,
    letterbox_bucket,
    parse_sizes,
    yolo_buckets,
)

YOLO = yolo_buckets(640, DEFAULT_BUCKET_SCALE)
DINO = dino_buckets(224, DEFAULT_BUCKET_SCALE)


def test_bucket_sets():
    assert YOLO[0] in {(192, 320), (320, 192)} and YOLO[-1] == (640, 640)
    assert all(w % 32 == 0 and h % 32 == 0 for w, h in YOLO)
    assert set(DINO) == {(224, 126), (126, 224), (224, 168), (168, 224), (224, 224)}
    assert all(w % 14 == 0 and h % 14 == 0 for w, h in DINO)
    assert yolo_buckets(640, 0) == ((640, 640),) and dino_buckets(224, 0) == ((224, 224),)
    assert parse_sizes(format_sizes(YOLO)) == YOLO


@pytest.mark.parametrize(
    "frame, want",
    [
        ((160, 90), (320, 192)),  # Stash's 16:9 sprite cell at 2×
        ((160, 120), (320, 256)),  # a 4:3 cell
        ((90, 160), (192, 320)),  # portrait video
        ((1920, 1080), (640, 384)),  # a full-size video frame: today's scale, less padding
        ((800, 600), (640, 480)),
        ((4000, 4000), (640, 640)),  # a large still
        ((160, 68), (320, 192)),  # 2.35:1 fits the 16:9 bucket
        ((2000, 100), (640, 384)),  # a strip: its long side at native, in the widest bucket
    ],
)
def test_letterbox_bucket(frame, want):
    assert letterbox_bucket([frame], YOLO, DEFAULT_BUCKET_SCALE) == want


def test_letterbox_bucket_off_and_mixed():
    assert letterbox_bucket([(160, 90)], ((640, 640),), 0) == (640, 640)
    # one tensor per request: frames of two shapes share a bucket that holds both
    assert letterbox_bucket([(160, 90), (90, 160)], YOLO, 2.0) == (320, 320)


def test_aspect_bucket():
    assert aspect_bucket([(160, 90)], DINO) == (224, 126)
    assert aspect_bucket([(160, 120)], DINO) == (224, 168)
    assert aspect_bucket([(90, 160)], DINO) == (126, 224)
    assert aspect_bucket([(300, 300)], DINO) == (224, 224)
    assert aspect_bucket([(160, 90), (160, 120)], DINO) == (224, 224)


def test_parse_sizes_errors():
    for bad in ("", "320", "320x", "0x5", "axb"):
        with pytest.raises(ValueError, match=r"WIDTHxHEIGHT|no buckets"):
            parse_sizes(bad)


def test_rectangular_letterbox_places_the_frame():
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[30:60, 40:80] = 255
    boxed, lb = resize_letterbox(frame, (320, 192))
    assert boxed.shape == (192, 320, 3)
    assert lb.scale == pytest.approx(2.0) and lb.pad_x == 0 and lb.pad_y == 6
    ys, xs = np.nonzero(boxed[..., 0] > 200)
    assert xs.min() == pytest.approx(80, abs=1) and ys.min() == pytest.approx(66, abs=1)
    assert (boxed[:5, :, 0] == 114).all() and (boxed[-5:, :, 0] == 114).all()
    corner, lb = resize_letterbox(frame, (320, 192), "corner", 0)
    assert lb.pad_x == lb.pad_y == 0 and (corner[181:] == 0).all()


def _raw_with_box(box: np.ndarray, geometry: np.ndarray, anchors: int) -> np.ndarray:
    """Raw YOLO heads holding one confident class-3 box, given in frame pixels, where a model
    that sees the letterboxed frame would put it."""
    scale, pad_x, pad_y = geometry[:3]
    x1, y1, x2, y2 = box * scale + np.array([pad_x, pad_y, pad_x, pad_y])
    raw = np.zeros((84, anchors), np.float32)
    raw[:4, 7] = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
    raw[4 + 3, 7] = 0.9
    return raw[None]


@given(
    w=st.integers(40, 1920),
    h=st.integers(40, 1080),
    fx=st.floats(0, 0.5),
    fy=st.floats(0, 0.5),
    fw=st.floats(0.1, 0.5),
    fh=st.floats(0.1, 0.5),
)
def test_boxes_map_back_the_same_from_every_bucket(w, h, fx, fy, fw, fh):
    """A box the model finds at the bucket and at 640² comes back as the same frame box."""
    frame = np.zeros((h, w, 3), np.uint8)
    box = np.array([fx * w, fy * h, (fx + fw) * w, (fy + fh) * h], np.float32)
    got = []
    for size in ((640, 640), letterbox_bucket([(w, h)], YOLO, DEFAULT_BUCKET_SCALE)):
        _, geometry = letterbox_batch([frame], size)
        raw = _raw_with_box(box, geometry[0], 100)
        dets, counts = postprocess_batch(raw, geometry, 0.25, 0.45, 10)
        assert counts[0, 0] == 1
        got.append(dets[0, 0])
    np.testing.assert_allclose(got[0], got[1], atol=1e-3 * max(w, h))
    np.testing.assert_allclose(got[1][:4], box, atol=1e-3 * max(w, h))
    assert got[1][5] == 3
