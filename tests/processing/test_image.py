import numpy as np
import pytest

from stashtag.demo.samples import encode_jpeg, sprite_sheet
from stashtag.processing.image import (
    check_rects,
    decode_image,
    letterbox_batch,
    prepare,
    resize_letterbox,
    to_nchw,
)
from stashtag_core.errors import InputError


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return encode_jpeg(sprite_sheet(seed=1)[:90, :160])


def test_decode_roundtrip_jpeg(jpeg):
    img = decode_image(jpeg, max_pixels=10**6)
    assert img.shape == (90, 160, 3) and img.dtype == np.uint8


def test_decode_png():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (7, 5), (1, 2, 3)).save(buf, format="PNG")
    img = decode_image(buf.getvalue(), max_pixels=100)
    assert img.shape == (5, 7, 3) and tuple(img[0, 0]) == (1, 2, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty image"),
        (b"\xff\xd8\xff\xe0 not really a jpeg", "corrupt JPEG"),
        (b"hello world, not an image", "not a decodable image"),
    ],
)
def test_decode_errors(data, message):
    with pytest.raises(InputError, match=message):
        decode_image(data, max_pixels=10**6)


def test_decode_truncated(jpeg):
    with pytest.raises(InputError, match="JPEG"):
        decode_image(jpeg[: len(jpeg) // 2], max_pixels=10**6)


def test_pixel_limit_checked_before_decoding(jpeg):
    with pytest.raises(InputError, match="over the limit of 1000"):
        decode_image(jpeg, max_pixels=1000)


@pytest.mark.parametrize(
    ("rects", "message"),
    [
        (np.zeros((0, 4)), "no rectangles"),
        (np.zeros((3,)), "shape"),
        (np.array([[0, 0, 161, 90]]), "rectangle 0"),
        (np.array([[0, 0, 10, 10], [-1, 0, 10, 10]]), "rectangle 1"),
        (np.array([[0, 0, 0, 10]]), "outside"),
        (np.tile([0, 0, 10, 10], (200, 1)), "over the limit of 128"),
    ],
)
def test_rect_errors(rects, message):
    with pytest.raises(InputError, match=message):
        check_rects(rects, 160, 90, max_frames=128)


def test_letterbox_geometry_maps_back():
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[30:60, 40:80] = 255
    boxed, lb = resize_letterbox(frame, 640)
    assert boxed.shape == (640, 640, 3)
    assert lb.scale == pytest.approx(4.0) and lb.pad_x == 0 and lb.pad_y == 140
    ys, xs = np.nonzero(boxed[..., 0] > 200)
    # the white block lands at frame * scale + pad
    assert xs.min() == pytest.approx(40 * 4, abs=2) and ys.min() == pytest.approx(
        30 * 4 + 140, abs=2
    )
    assert (boxed[:100, :, 0] == 114).all()  # grey padding


@pytest.mark.parametrize("mode", ["crop", "squash", "letterbox"])
def test_prepare_shapes(mode):
    frames = [np.full((90, 160, 3), i, np.uint8) for i in range(3)]
    out = prepare(frames, 224, mode)
    assert out.shape == (3, 3, 224, 224) and out.dtype == np.uint8 and out.flags.c_contiguous


def test_letterbox_batch_geometry_rows():
    frames = [np.zeros((90, 160, 3), np.uint8), np.zeros((120, 160, 3), np.uint8)]
    _, geo = letterbox_batch(frames, 640)
    np.testing.assert_allclose(geo[:, 3:], [[160, 90], [160, 120]])


@pytest.mark.parametrize("height, width", [(90, 160), (120, 160), (250, 400), (1080, 1920)])
@pytest.mark.parametrize("mode, size", [("crop", 224), ("squash", 224), ("letterbox", 640)])
def test_torch_resize_matches_opencv(height, width, mode, size):
    """The GPU-side resize (repo build --device-resize) gives OpenCV's pixels up to rounding:
    enlarging sprite cells, shrinking video frames, at fractional scales too."""
    import cv2
    import torch

    from stashtag.processing.torch_resize import resize_frames

    frame = np.ascontiguousarray(cv2.resize(sprite_sheet(3), (width, height)))
    frames = [frame, np.ascontiguousarray(frame[::-1])]
    want = prepare(frames, size, mode).astype(int)
    got = resize_frames(torch.from_numpy(to_nchw(frames)), mode, size).numpy().astype(int)
    assert got.shape == want.shape
    diff = np.abs(got - want)
    assert diff.max() <= 1 and diff.mean() < 0.15
