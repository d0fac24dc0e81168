"""The content detector's answers → Stash tags, derived nudity level and markers.

Mapping on hand-made records (thresholds, frame share, allow/deny, markers), and end to end:
scikit-image's photographs through the real Triton (NudeNet's real weights) to tags.
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np

from stashtag.demo.photos import photo_path
from stashtag_client.store import Detected, SceneRecord
from stashtag_client.tagging.mapping import TextBank, map_scene
from stashtag_client.tagging.rules import with_overrides
from stashtag_client.tagging.vocabulary import load_vocabulary
from stashtag_core.modelspec.detectors import NUDENET_CLASSES

FRAMES = 81
BREAST = NUDENET_CLASSES.index("FEMALE_BREAST_EXPOSED")
FEET = NUDENET_CLASSES.index("FEET_EXPOSED")


def content_frames(hits: dict[int, list[tuple[int, float]]]) -> list[np.ndarray]:
    """Per frame (K, 6) detections: ``hits[frame] = [(class, score), …]``."""
    out = []
    for f in range(FRAMES):
        rows = [[10, 10, 50, 50, score, cls] for cls, score in hits.get(f, [])]
        out.append(np.array(rows, np.float32).reshape(-1, 6))
    return out


def record(detected: dict[str, Detected]) -> SceneRecord:
    empty = np.zeros((FRAMES, 8), np.float32)
    return SceneRecord(
        "s",
        "m",
        "s_sprite.jpg",
        "duration",
        np.arange(FRAMES) * 5.0,  # a 405 s scene, a frame every 5 s
        empty,
        empty,
        empty,
        [np.zeros((0, 6), np.float32)] * FRAMES,
        detected=detected,
    )


def mapped(rec: SceneRecord, **policy):
    vocab = load_vocabulary()
    vocab = dataclasses.replace(
        vocab, tags=(), groups={}, policy=with_overrides(vocab.policy, **policy)
    )
    return map_scene(rec, vocab, TextBank({}, {}, 100.0))


def test_exposed_class_becomes_a_tag_a_level_and_a_marker():
    # frames 20-29 (100-150 s): breasts exposed at 0.8; a weak 0.3 in frame 60 does not count
    hits = {f: [(BREAST, 0.8)] for f in range(20, 30)} | {60: [(BREAST, 0.3)]}
    result = mapped(record({"content": Detected(NUDENET_CLASSES, content_frames(hits))}))
    names = {t.name for t in result.tags}
    assert {"Exposed Breasts", "Nudity - Partial"} <= names
    assert "Nudity - Explicit" not in names and "Exposed Genitalia" not in names
    hit = next(t for t in result.tags if t.name == "Exposed Breasts")
    assert hit.source == "content" and hit.parent == "Content"
    assert hit.frames == tuple(range(20, 30)) and result.scores["Exposed Breasts"] == 0.1235
    (marker,) = [m for m in result.markers if m.tag == "Exposed Breasts"]
    assert (marker.start, marker.end) == (100.0, 150.0)


def test_frame_share_and_per_class_threshold():
    # bare feet in 3 frames: enough frames, but 3/81 = 3.7 % is under the 5 % share
    few = {f: [(FEET, 0.9)] for f in (5, 6, 7)}
    result = mapped(record({"content": Detected(NUDENET_CLASSES, content_frames(few))}))
    assert "Barefoot" not in {t.name for t in result.tags}
    assert result.scores["Barefoot"] == round(3 / 81, 4)
    many = {f: [(FEET, 0.9)] for f in range(5, 15)}
    result = mapped(record({"content": Detected(NUDENET_CLASSES, content_frames(many))}))
    assert "Barefoot" in {t.name for t in result.tags}
    assert not [m for m in result.markers if m.tag == "Barefoot"]  # markers: false


def test_deny_and_allow_apply_to_content_tags():
    hits = {f: [(BREAST, 0.8)] for f in range(20, 30)}
    rec = record({"content": Detected(NUDENET_CLASSES, content_frames(hits))})
    denied = mapped(rec, deny=["Exposed Breasts"])
    assert "Exposed Breasts" not in {t.name for t in denied.tags}
    only = mapped(rec, allow=["Nudity - Partial", "Exposed Breasts"])
    assert {t.name for t in only.tags} == {"Nudity - Partial", "Exposed Breasts"}


def test_without_the_detector_its_rules_are_skipped():
    result = mapped(record({}))
    assert "Exposed Breasts" not in result.scores and result.tags == []


def test_photographs_through_triton_get_people_tags(triton, tmp_path):
    """Real weights end to end: the stills of a folder, tagged through the served ensemble."""
    from stashtag_client.directory import run_tag
    from stashtag_client.frames.discovery import discover
    from stashtag_client.settings import Settings

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "camera", "chelsea", "rocket"):
        shutil.copy(photo_path(name), folder)
    settings = Settings(endpoints=triton.options.grpc_url, store=str(tmp_path / "s.db"))
    results, _ = run_tag(discover([folder]), settings, load_vocabulary(), quiet=True)
    tags = {r.source.rsplit("/", 1)[-1]: {t.name for t in r.tags} for r in results}
    content = {"Woman", "Man", "Exposed Breasts", "Exposed Genitalia", "Nudity - Partial"}
    assert tags["astronaut.png"] & content == {"Woman"}
    assert tags["camera.png"] & content == {"Man"}
    assert tags["chelsea.png"] & content == set() and tags["rocket.jpg"] & content == set()
    astronaut = next(r for r in results if r.source.endswith("astronaut.png"))
    assert astronaut.scores["Woman"] == 1.0  # one frame, one hit
