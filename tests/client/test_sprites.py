"""VTT parsing: Stash's exact format, property-tested round trips, precise errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stashtag.demo.samples import sprite_vtt
from stashtag_client.frames.sprites import grid_rects, parse_vtt, rects_array
from stashtag_core.errors import InputError


@settings(max_examples=60, deadline=None)
@given(
    duration=st.floats(min_value=0.5, max_value=20_000, allow_nan=False),
    w=st.integers(min_value=2, max_value=400),
    h=st.integers(min_value=2, max_value=400),
)
def test_roundtrip(duration, w, h):
    cues = parse_vtt(sprite_vtt("abc_sprite.jpg", duration, w, h))
    assert len(cues) == 81
    np.testing.assert_array_equal(rects_array(cues), grid_rects(9 * w, 9 * h))
    starts = np.array([c.start for c in cues])
    # Stash truncates to milliseconds: never later than the true time, never more than 1 ms early
    true = np.arange(81) * duration / 81
    assert np.all(starts <= true + 1e-9) and np.all(true - starts < 1e-3 + 1e-9)
    assert all(c.end > c.start or duration < 0.2 for c in cues)


def test_stash_example():
    text = (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.160\nx_sprite.jpg#xywh=0,0,160,90\n\n"
        "00:00:03.479 --> 00:00:04.639\nx_sprite.jpg#xywh=160,0,160,90\n\n"
        "01:02:03.004 --> 01:02:04.000\nx_sprite.jpg#xywh=320,90,160,120\n"
    )
    cues = parse_vtt(text)
    assert [c.start for c in cues] == [0.0, 3.479, 3723.004]
    assert cues[2].rect == (320, 90, 160, 120)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a WebVTT file"),
        ("WEBVTT\n\n", "no cues"),
        (
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nx_sprite.jpg\n",
            "scene.vtt:4: cue has no #xywh=",
        ),
        ("hello\n", "not a WebVTT file"),
    ],
)
def test_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_vtt(text, "scene.vtt")


CUES = (
    "00:00:05.000 --> 00:00:10.000\nx_sprite.jpg#xywh=160,0,160,90\n\n"
    "00:00:00.000 --> 00:00:05.000\nx_sprite.jpg#xywh=0,0,160,90\n"
)


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffWEBVTT\n\n" + CUES,  # a byte-order mark before the header (valid WebVTT)
        ("WEBVTT\n\n" + CUES).replace("\n", "\r\n"),
        ("WEBVTT\n\n" + CUES).replace("\n", "\r"),  # old Mac line ends, also valid
    ],
    ids=["bom", "crlf", "cr"],
)
def test_webvtt_forms_and_cues_out_of_order(text):
    cues = parse_vtt(text, "s.vtt")
    # sorted by time, each rectangle staying with its own cue
    assert [(c.start, c.rect[0]) for c in cues] == [(0.0, 0), (5.0, 160)]


def test_numbers_beyond_any_jpeg_are_refused_by_line():
    text = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nx.jpg#xywh=99999999999999999999,0,160,90\n"
    with pytest.raises(InputError, match=r"s\.vtt:4: cue rectangle 99999999999999999999,0,160,90"):
        parse_vtt(text, "s.vtt")
