"""Fuzzing the parsers that read untrusted bytes: whatever comes in, they either return a valid
result or raise the tool's own error with a message — never anything else."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stashtag.processing.image import check_rects, decode_image
from stashtag_client.frames.sources import image_size, sprite_frames
from stashtag_client.frames.sprites import parse_vtt
from stashtag_client.tagging.vocabulary import VocabularyError, parse_vocabulary
from stashtag_core.errors import InputError
from tests.reliability.library import small_sprite

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPRITE, VTT = small_sprite(3, "x")

# VTT-like text: real lines, broken lines and noise mixed
_vtt_line = st.one_of(
    st.just("WEBVTT"),
    st.just(""),
    st.builds(
        lambda a, b: f"{a} --> {b}",
        st.from_regex(r"-?\d{1,3}:\d{2}:\d{2}\.\d{1,4}|NaN|inf", fullmatch=True),
        st.from_regex(r"\d{1,3}:\d{2}:\d{2}\.\d{3}", fullmatch=True),
    ),
    st.builds(
        lambda x, y, w, h: f"x_sprite.jpg#xywh={x},{y},{w},{h}",
        *[st.integers(-5, 2000).map(str) | st.text(max_size=3)] * 4,
    ),
    st.text(max_size=40),
)
vtt_text = st.lists(_vtt_line, max_size=30).map("\n".join)


@FUZZ
@given(vtt_text)
def test_vtt_parser(text):
    try:
        cues = parse_vtt(text, "f.vtt")
    except InputError as exc:
        assert str(exc).startswith("f.vtt")
        return
    assert cues and all(c.end >= c.start >= 0 for c in cues)
    assert all(c.rect[2] > 0 and c.rect[3] > 0 and min(c.rect) >= 0 for c in cues)


@FUZZ
@given(vtt_text)
def test_sprite_with_fuzzed_vtt(text):
    try:
        frames = sprite_frames("s", SPRITE, text.encode(), 30.0, "s_sprite.jpg", "s.vtt")
    except InputError:
        return
    x, y, w, h = frames.rects.T
    assert (x + w <= 320).all() and (y + h <= 180).all()


_yaml_scalar = st.one_of(
    st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=12), st.booleans(), st.none()
)
_yaml_value = st.recursive(
    _yaml_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_keys = st.sampled_from(["version", "tags", "groups", "detections", "prompts", "name", "x"])


@FUZZ
@given(st.dictionaries(_keys, _yaml_value, max_size=5) | st.text(max_size=200))
def test_vocabulary_loader(doc):
    import yaml

    text = doc if isinstance(doc, str) else yaml.safe_dump(doc)
    try:
        vocab = parse_vocabulary(text, "v.yml")
    except VocabularyError as exc:
        assert str(exc).startswith("v.yml")
        return
    assert vocab is not None


@FUZZ
@given(
    st.binary(max_size=3000)
    | st.builds(lambda n, b: SPRITE[:n] + b, st.integers(0, 2000), st.binary(max_size=200))
)
def test_request_decoder(data):
    try:
        image = decode_image(data, 10_000_000)
    except InputError:
        return
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8


@FUZZ
@given(st.binary(max_size=400) | st.builds(lambda n: SPRITE[:n], st.integers(0, 800)))
def test_client_image_header(data):
    try:
        width, height = image_size(data, "x.jpg")
    except InputError:
        return
    assert width >= 0 and height >= 0


@FUZZ
@given(
    st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=4, max_size=4), max_size=6),
    st.integers(0, 500),
    st.integers(0, 500),
)
def test_rectangle_checks(rects, width, height):
    arr = np.array(rects, np.int64).reshape(-1, 4)
    try:
        ok = check_rects(arr, width, height, 128)
    except InputError:
        return
    x, y, w, h = ok.T
    assert (w > 0).all() and (h > 0).all() and (x + w <= width).all() and (y + h <= height).all()
