"""Bad requests get their own precise error; the server keeps serving the next one."""

import numpy as np
import pytest

from stashtag.demo.samples import encode_jpeg, sprite_sheet
from stashtag_client.inference.grpc_client import ServerError


def _jpeg() -> bytes:
    return encode_jpeg(sprite_sheet(seed=2)[:90, :160])


FULL = np.array([[0, 0, 160, 90]], np.int32)
CASES = {
    "corrupt": (b"\xff\xd8\xff\xe0" + b"\x00" * 200, FULL, "corrupt JPEG"),
    "truncated": (_jpeg()[:900], FULL, "JPEG"),
    "not an image": (b"GIF? no, plain text" * 10, FULL, "not a decodable image"),
    "empty": (b"", FULL, "empty image"),
    "rect outside": (_jpeg(), np.array([[100, 0, 100, 90]], np.int32), "outside the 160x90 image"),
    "no rects": (_jpeg(), np.zeros((0, 4), np.int32), "no rectangles"),
    "degenerate strip": (_jpeg(), np.array([[0, 0, 160, 2]], np.int32), "more than 20:1"),
}


@pytest.mark.parametrize("model", ["tagger", "ocr"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_error_then_recovery(client, model, case):
    data, rects, message = CASES[case]
    call = client.tag_frames if model == "tagger" else client.read_text
    with pytest.raises(ServerError, match=message) as caught:
        call(data, rects)
    assert caught.value.code == "INVALID_ARGUMENT"  # the request's fault
    call(_jpeg(), FULL)  # the next request is served


def test_pixel_bomb_refused_before_decoding(client):
    """A 9000×9000 JPEG header (81 MP) is over the 40 MP limit."""
    big = encode_jpeg(np.zeros((9000, 9000, 3), np.uint8), quality=10)
    with pytest.raises(ServerError, match="over the limit"):
        client.tag_frames(big, np.array([[0, 0, 10, 10]], np.int32))
    client.tag_frames(_jpeg(), FULL)


def test_request_limits(client):
    """Oversized encoded images and too many frames are refused, naming the limit."""
    from stashtag_core.modelspec import Limits

    limits = Limits()
    padded = _jpeg() + b"\0" * limits.max_encoded_bytes
    with pytest.raises(ServerError, match=f"{len(padded)} bytes, over the limit"):
        client.tag_frames(padded, FULL)
    with pytest.raises(ServerError, match=f"limit of {limits.max_encoded_bytes}"):
        client.read_text(padded, FULL)
    too_many = np.repeat(FULL, limits.max_frames + 1, axis=0)
    with pytest.raises(ServerError, match=f"over the limit of {limits.max_frames}"):
        client.tag_frames(_jpeg(), too_many)
    client.tag_frames(_jpeg(), FULL)
