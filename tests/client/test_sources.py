"""Frame sources: sprites (never decoded), images, videos, discovery and bad files."""

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from stashtag.demo.samples import encode_jpeg, sprite_vtt, write_sample
from stashtag_client.frames.discovery import discover
from stashtag_client.frames.sources import image_size, load_image, load_sprite
from stashtag_core.errors import InputError
from tests.reliability.folder_corpus import gif_header


@settings(max_examples=25, deadline=None)
@given(w=st.integers(1, 300), h=st.integers(1, 300), progressive=st.booleans())
def test_jpeg_header_size_matches_pillow(w, h, progressive):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 20, 30)).save(buf, "JPEG", progressive=progressive)
    assert image_size(buf.getvalue(), "x") == (w, h)


def test_png_size():
    buf = io.BytesIO()
    Image.new("RGB", (17, 9)).save(buf, "PNG")
    assert image_size(buf.getvalue(), "x") == (17, 9)


def test_sprite_sent_as_is_with_duration_times(tmp_path):
    sprite, vtt = write_sample(tmp_path, "abc", duration=97.0)
    frames = load_sprite("abc", sprite, None, duration=97.0)
    assert frames.image == sprite.read_bytes()  # the client never re-encodes sprites
    assert frames.frames == 81 and frames.time_basis == "duration"
    np.testing.assert_allclose(frames.times, np.arange(81) * 97.0 / 81)
    vtt_frames = load_sprite("abc", sprite, vtt)
    assert vtt_frames.time_basis == "vtt" and vtt_frames.times[1] == pytest.approx(1.197, abs=1e-3)


def test_vtt_of_another_sprite_is_refused(tmp_path):
    sprite, vtt = write_sample(tmp_path, "abc")
    vtt.write_text(sprite_vtt(sprite.name, 97.0, 160, 120))  # a 4:3 VTT for a 16:9 sheet
    with pytest.raises(InputError, match=r"abc_thumbs\.vtt: cue 55 .* outside the 1440x810 sprite"):
        load_sprite("abc", sprite, None)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s, v: s.unlink(), "abc_sprite.jpg: file not found"),
        (lambda s, v: v.unlink(), "abc_thumbs.vtt: file not found"),
        (lambda s, v: s.write_bytes(b""), "empty file"),
        # cut before the frame header; later damage is found by the server's strict decoder
        (lambda s, v: s.write_bytes(s.read_bytes()[:20]), "corrupt or truncated JPEG"),
        (lambda s, v: v.write_bytes(b"\xff\xfe\x00bad"), "not UTF-8"),
        (lambda s, v: v.write_text("WEBVTT\n\n"), "no cues"),
    ],
)
def test_bad_sprite_files(tmp_path, setup, message):
    sprite, vtt = write_sample(tmp_path, "abc")
    setup(sprite, vtt)
    with pytest.raises(InputError, match=message):
        load_sprite("abc", sprite, None)


@pytest.mark.parametrize("duration", [0.0, -3.0, float("nan")])
def test_bad_duration(tmp_path, duration):
    sprite, _ = write_sample(tmp_path, "abc")
    with pytest.raises(InputError, match="invalid duration"):
        load_sprite("abc", sprite, None, duration=duration)


def test_image(tmp_path):
    path = tmp_path / "still.jpg"
    path.write_bytes(encode_jpeg(np.zeros((48, 64, 3), np.uint8)))
    frames = load_image("still", path)
    np.testing.assert_array_equal(frames.rects, [[0, 0, 64, 48]])
    assert frames.time_basis == "still"


def test_video(tmp_path):
    from stashtag_client.frames.video import load_video, write_test_video

    path = write_test_video(tmp_path / "clip.mp4", seconds=4.0)
    frames = load_video("clip", path, count=12, width=96)
    assert frames.frames == 12 and frames.time_basis == "duration"
    assert set(map(tuple, frames.rects[:, 2:])) == {(96, 54)}
    np.testing.assert_allclose(frames.times, np.arange(12) * 4.0 / 12, atol=0.15)
    assert image_size(frames.image, "sheet") == (4 * 96, 3 * 54)


def test_bad_videos(tmp_path):
    from stashtag_client.frames.video import load_video

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError, match=r"junk\.mp4"):
        load_video("junk", junk, 8, 64)
    with pytest.raises(InputError, match=r"missing\.mp4: file not found"):
        load_video("m", tmp_path / "missing.mp4", 8, 64)


def test_discover(tmp_path):
    write_sample(tmp_path / "sprites", "aaa")
    write_sample(tmp_path / "sprites", "bbb")
    (tmp_path / "img.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("ignored")
    from stashtag_client.frames.video import write_test_video

    write_test_video(tmp_path / "v.mp4", seconds=1.0)
    found = list(discover([tmp_path, tmp_path / "does-not-exist.jpg"]))
    kinds = {Path(s.scene).name: s.kind for s in found}
    assert kinds == {
        "img.png": "image",
        "aaa": "sprite",
        "bbb": "sprite",
        "v.mp4": "video",
        "does-not-exist.jpg": "image",
    }
    missing = next(s for s in found if s.scene.endswith("does-not-exist.jpg"))
    with pytest.raises(InputError, match="file not found"):
        missing.load()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.jpg", gif_header(20000, 20000), "refused as a decompression bomb"),
        ("text.jpg", b"just some words, no picture\n" * 4, r"not an image \(no known format\)"),
        ("strip.png", None, r"a 20000x1 image is more than 20:1"),
        ("flat.png", None, r"a 1x2000 image is more than 20:1"),
    ],
)
def test_hostile_stills_get_a_plain_error(tmp_path, name, data, message):
    import io

    from PIL import Image

    path = tmp_path / name
    if data is None:
        size = (20000, 1) if name == "strip.png" else (1, 2000)
        buffer = io.BytesIO()
        Image.new("RGB", size).save(buffer, "PNG")
        data = buffer.getvalue()
    path.write_bytes(data)
    with pytest.raises(InputError, match=message) as caught:
        load_image(name, path)
    assert str(path) in str(caught.value) and " at 0x" not in str(caught.value)
