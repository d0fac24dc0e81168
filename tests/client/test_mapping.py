"""Frame scores → tags, markers and studio: aggregation, exclusive groups, merging properties."""

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stashtag_client.store import SceneRecord
from stashtag_client.tagging.mapping import (
    aggregate,
    build_text_bank,
    class_confidence,
    detection_frames,
    frame_probabilities,
    map_scene,
    merge_markers,
)
from stashtag_client.tagging.studio import match_studio
from stashtag_client.tagging.vocabulary import (
    Aggregation,
    DetectionRule,
    MarkerSettings,
    StudioSettings,
    parse_vocabulary,
)

VOCAB = parse_vocabulary(
    """\
version: 1
aggregation: {method: fraction, min_fraction: 0.2, min_frames: 2}
markers: {merge_gap_s: 8, min_length_s: 10}
groups:
  setting: {exclusive: true}
tags:
  - {name: Indoors, group: setting, prompts: [indoors]}
  - {name: Outdoors, group: setting, prompts: [outdoors]}
  - {name: Beach, prompts: [beach, sand], negatives: [nothing], threshold: 0.6}
detections:
  - {tag: Dog, classes: [dog], min_confidence: 0.5, min_frames: 2}
""",
    "test",
)

AXES = {"indoors": 0, "outdoors": 1, "beach": 2, "sand": 2, "nothing": 3}


def bank():
    prompts = {p: np.eye(8, dtype=np.float32)[i] for p, i in AXES.items()}
    return build_text_bank(VOCAB, prompts, logit_scale=100.0)


def frames_along(axes: list[int]) -> np.ndarray:
    return np.eye(8, dtype=np.float32)[axes]


def test_exclusive_group_is_a_softmax():
    probs = frame_probabilities(frames_along([0, 1, 4]), VOCAB, bank())
    np.testing.assert_allclose(probs["Indoors"] + probs["Outdoors"], 1.0, atol=1e-6)
    assert probs["Indoors"][0] > 0.99 and probs["Outdoors"][1] > 0.99


def test_independent_tag_against_negatives():
    probs = frame_probabilities(frames_along([2, 3, 0]), VOCAB, bank())
    assert probs["Beach"][0] > 0.99 and probs["Beach"][1] < 0.01
    assert probs["Beach"][2] == pytest.approx(0.5)  # orthogonal to both: undecided


@pytest.mark.parametrize(
    ("probs", "agg", "expected"),
    [
        ([0.9, 0.9, 0.1, 0.1, 0.1], Aggregation("fraction", 0.3, 5, 2), (True, 0.4)),
        ([0.9, 0.1, 0.1, 0.1, 0.1], Aggregation("fraction", 0.1, 5, 2), (False, 0.2)),
        ([0.9, 0.8, 0.1, 0.1], Aggregation("topk_mean", 0.1, 2, 2), (True, 0.85)),
        ([0.9, 0.2, 0.1, 0.1], Aggregation("topk_mean", 0.1, 2, 1), (True, 0.55)),
        ([0.6, 0.2, 0.1, 0.1], Aggregation("topk_mean", 0.1, 2, 1), (False, 0.4)),
        ([], Aggregation(), (False, 0.0)),
    ],
)
def test_aggregate(probs, agg, expected):
    applies, score, _ = aggregate(np.array(probs), 0.5, agg)
    assert (applies, score) == (expected[0], pytest.approx(expected[1]))


@settings(max_examples=200, deadline=None)
@given(
    hits=st.sets(st.integers(0, 80)),
    gap=st.floats(0, 30),
    min_len=st.floats(0, 40),
    step=st.floats(0.1, 20),
)
def test_marker_merging_properties(hits, gap, min_len, step):
    times = np.arange(81) * step
    markers = merge_markers(
        times, np.array(sorted(hits), dtype=np.int64), MarkerSettings(True, gap, min_len), "T"
    )
    seen = set()
    for a, b in pairwise(markers):
        assert b.start - a.end > gap - 1e-6  # closer ranges would have merged
    for m in markers:
        assert m.end - m.start >= min_len - 1e-3  # times are rounded to ms
        assert set(m.frames) <= hits and not (set(m.frames) & seen)
        seen |= set(m.frames)
        assert m.start == pytest.approx(times[min(m.frames)], abs=1e-3)
        assert m.end == pytest.approx(times[max(m.frames)] + step, abs=1e-3)
    if min_len <= step:  # every hit survives when single frames are long enough
        assert seen == hits


def test_markers_example():
    times = np.arange(81) * 1.2
    hits = np.array([0, 1, 2, 8, 9, 10, 11, 40])
    markers = merge_markers(times, hits, MarkerSettings(True, 8.0, 10.0), "Beach")
    # 0-3.6 s and 9.6-14.4 s are 6 s apart → one marker; the lone hit at 48 s is too short
    assert [(m.start, m.end) for m in markers] == [(0.0, 14.4)]


def test_detection_frames():
    dets = [
        np.array([[0, 0, 5, 5, 0.9, 16]], np.float32),  # dog
        np.array([[0, 0, 5, 5, 0.4, 16]], np.float32),  # dog, too unsure
        np.zeros((0, 6), np.float32),
        np.array([[0, 0, 5, 5, 0.8, 0], [1, 1, 4, 4, 0.7, 16]], np.float32),
    ]
    rule = DetectionRule("Dog", ("dog",), 0.5, 2)
    rec = SceneRecord("s", "m", "x", "duration", np.arange(4.0), *[np.zeros((4, 2))] * 3, dets)
    np.testing.assert_array_equal(detection_frames(rec, class_confidence(dets), rule), [0, 3])
    other = DetectionRule("Dog", ("dog",), 0.5, 2, detector="content")
    assert detection_frames(rec, class_confidence(dets), other) is None  # not run: skipped
    np.testing.assert_array_equal(
        class_confidence([np.zeros((0, 6), np.float32)]), np.zeros((1, 80))
    )


def _line(text: str, frame: int = 0, score: float = 0.95, source: str = "sprite") -> dict:
    return {"frame": frame, "text": text, "score": score, "box": [], "source": source}


def test_studio_fuzzy_match_keeps_evidence():
    ocr = [_line("BRAZZERS.COM"), _line("Studi0 Forty Two", 3, 0.9, "screenshot"), _line("zz", 5)]
    got, ties = match_studio(ocr, ["Studio Forty Two", "Other Studio"], StudioSettings(True, 85))
    assert (got.studio, got.text, got.frame, got.source) == (
        "Studio Forty Two",
        "Studi0 Forty Two",
        3,
        "screenshot",
    )
    assert ties == []
    assert match_studio(ocr, ["Completely Different"], StudioSettings()) == (None, [])
    assert match_studio(ocr, [], StudioSettings()) == (None, [])


def test_a_short_fragment_names_no_longer_studio():
    studios = ["Red Light District", "RED"]
    got, _ = match_studio([_line("RED")], studios, StudioSettings())
    assert got.studio == "RED"  # an exact short name is still found
    assert match_studio([_line("ORGE")], ["George Studios"], StudioSettings()) == (None, [])
    got, _ = match_studio([_line("GEORGE")], ["George Studios"], StudioSettings())
    assert got.studio == "George Studios"


def test_close_studios_are_ties_not_guesses_and_order_never_matters():
    studios = ["Orange Media", "Porge Studio", "Gorgeous Films", "Unrelated"]
    ocr = [_line("ORGEOUS"), _line("PORGE", 7)]
    outcomes = set()
    for turn in range(len(studios)):
        rotated = studios[turn:] + studios[:turn]
        for lines in (ocr, ocr[::-1]):
            got, ties = match_studio(lines, rotated, StudioSettings())
            outcomes.add((got, tuple(ties)))
    assert len(outcomes) == 1, "the verdict depends on the order of studios or lines"
    got, ties = outcomes.pop()
    assert got is None
    assert [m.studio for m in ties] == ["Gorgeous Films", "Porge Studio"]
    assert {m.text for m in ties} == {"ORGEOUS", "PORGE"}


def test_margin_decides_between_near_names():
    studios = ["Blue Sky Media", "Blue Sky Medias"]
    ocr = [_line("BLUE SKY MEDIA")]
    got, ties = match_studio(ocr, studios, StudioSettings(margin=0.5))
    assert got.studio == "Blue Sky Media" and ties == []
    got, ties = match_studio(ocr, studios, StudioSettings(margin=5))
    assert got is None and [m.studio for m in ties] == ["Blue Sky Media", "Blue Sky Medias"]


def test_map_scene():
    beach = np.eye(8, dtype=np.float32)[2] + 0.3 * np.eye(8, dtype=np.float32)[1]
    clip = np.concatenate([np.tile(beach / np.linalg.norm(beach), (30, 1)), frames_along([0] * 51)])
    dets = [np.array([[0, 0, 5, 5, 0.9, 16]], np.float32)] * 5 + [np.zeros((0, 6), np.float32)] * 76
    record = SceneRecord(
        "s",
        "m",
        "s_sprite.jpg",
        "duration",
        np.arange(81) * 1.2,
        clip,
        clip,
        clip,
        dets,
        [{"frame": 1, "text": "Studio 42", "score": 0.9, "box": []}],
    )
    result = map_scene(record, VOCAB, bank(), ["Studio 42"])
    tags = {t.name: t for t in result.tags}
    assert set(tags) == {"Beach", "Dog", "Indoors", "Outdoors"}
    assert tags["Beach"].frames == tags["Outdoors"].frames == tuple(range(30))
    assert tags["Indoors"].frames == tuple(range(30, 81)) and tags["Dog"].source == "yolo"
    beach = [m for m in result.markers if m.tag == "Beach"]
    assert [(m.start, m.end) for m in beach] == [(0.0, 36.0)]
    assert result.studio.studio == "Studio 42"
    assert result.to_dict()["tags"][0]["name"] in tags


@settings(max_examples=200, deadline=None)
@given(
    probs=st.lists(st.floats(0, 1), min_size=1, max_size=81),
    threshold=st.floats(0.01, 1),
    method=st.sampled_from(["fraction", "topk_mean"]),
    min_fraction=st.floats(0, 1),
    top_k=st.integers(1, 10),
    min_frames=st.integers(1, 5),
    boost=st.floats(0, 0.5),
)
def test_aggregation_properties(probs, threshold, method, min_fraction, top_k, min_frames, boost):
    agg = Aggregation(method, min_fraction, top_k, min_frames)
    p = np.array(probs)
    applies, score, hits = aggregate(p, threshold, agg)
    np.testing.assert_array_equal(hits, np.flatnonzero(p >= threshold))
    if method == "fraction":
        assert score == pytest.approx(len(hits) / len(p), abs=1e-4)
    else:
        assert p.min() - 1e-4 <= score <= p.max() + 1e-4
    if applies:
        assert len(hits) >= min(min_frames, len(p))
        # raising every frame's probability never removes a tag
        assert aggregate(np.minimum(p + boost, 1.0), threshold, agg)[0]


def test_map_scene_with_frame_budgets():
    """YOLO saw every 3rd frame: its rows stand for those frames, its score counts them, and a
    hit covers three frames' time (markers stay one range, as with every frame seen)."""
    clip = frames_along([0] * 81)
    seen = np.arange(0, 81, 3)
    dog = np.array([[0, 0, 5, 5, 0.9, 16]], np.float32)
    dets = [dog] * 5 + [np.zeros((0, 6), np.float32)] * 22  # global frames 0, 3, … 12
    times = np.arange(81) * 1.2
    record = SceneRecord(
        "s", "m", "s.jpg", "duration", times, clip, clip[::2], clip[::2], dets,
        seen={"yolo": seen, "dino": np.arange(0, 81, 2)},
    )  # fmt: skip
    result = map_scene(record, VOCAB, bank())
    tags = {t.name: t for t in result.tags}
    assert tags["Dog"].frames == (0, 3, 6, 9, 12)
    assert result.scores["Dog"] == round(5 / 27, 4)
    dog_markers = [(m.start, m.end) for m in result.markers if m.tag == "Dog"]
    assert dog_markers == [(0.0, 18.0)]  # 0–14.4 s plus one 3-frame step
    everything = SceneRecord(
        "s", "m", "s.jpg", "duration", times, clip, clip, clip,
        [dets[i // 3] if i % 3 == 0 else np.zeros((0, 6), np.float32) for i in range(81)],
    )  # fmt: skip
    assert map_scene(everything, VOCAB, bank()).scores["Dog"] == round(5 / 81, 4)
