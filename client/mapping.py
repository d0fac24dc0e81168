"""Model outputs → Stash tags, markers and a studio suggestion, for one stored scene.

Pure numpy over a :class:`SceneRecord`, so retagging a whole library with a new vocabulary or new
thresholds needs no inference: only the prompts' text embeddings (cached per model id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from stashtag.client.coco import CLASS_IDS
from stashtag.client.learned import LearnedTag
from stashtag.client.store import SceneRecord
from stashtag.client.vocabulary import (
    Aggregation,
    DetectionRule,
    MarkerSettings,
    StudioSettings,
    Vocabulary,
)


@dataclass(frozen=True)
class TagHit:
    name: str
    parent: str | None
    score: float  # fraction of frames (fraction) or mean top-k probability (topk_mean)
    source: str  # "clip", "yolo" or "learned"
    frames: tuple[int, ...]  # frames that support it


@dataclass(frozen=True)
class Marker:
    tag: str
    start: float  # seconds
    end: float
    frames: tuple[int, ...]


@dataclass(frozen=True)
class StudioMatch:
    studio: str
    score: float  # rapidfuzz 0-100
    text: str  # the OCR text that matched (evidence)
    frame: int


@dataclass
class SceneResult:
    scene: str
    source: str = ""
    frames: int = 0
    time_basis: str = ""
    tags: list[TagHit] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    studio: StudioMatch | None = None
    text: list[str] = field(default_factory=list)  # distinct OCR text seen
    error: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TextBank:
    """Unit text embeddings per tag (prompt ensemble) and per tag's negatives."""

    tags: dict[str, np.ndarray]
    negatives: dict[str, np.ndarray]
    logit_scale: float


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def build_text_bank(
    vocab: Vocabulary, prompts: dict[str, np.ndarray], logit_scale: float
) -> TextBank:
    """Average each tag's prompt embeddings (and its negatives') into one unit vector."""

    def ensemble(texts: tuple[str, ...]) -> np.ndarray:
        return _unit(np.mean([_unit(prompts[t]) for t in texts], axis=0))

    return TextBank(
        tags={t.name: ensemble(t.prompts) for t in vocab.tags},
        negatives={t.name: ensemble(t.negatives) for t in vocab.tags if t.negatives},
        logit_scale=logit_scale,
    )


def frame_probabilities(
    clip: np.ndarray, vocab: Vocabulary, bank: TextBank
) -> dict[str, np.ndarray]:
    """Per tag, each frame's probability that the tag holds.

    Exclusive groups: softmax over the group's tags. Other tags: a two-way softmax of the tag
    against its negatives (CLIP's raw cosines are not probabilities on their own).
    """
    frames = clip / np.maximum(np.linalg.norm(clip, axis=1, keepdims=True), 1e-12)
    probs: dict[str, np.ndarray] = {}
    exclusive = {g for g, spec in vocab.groups.items() if spec.exclusive}
    for group in exclusive:
        members = [t.name for t in vocab.tags if t.group == group]
        logits = bank.logit_scale * frames @ np.stack([bank.tags[m] for m in members]).T
        logits -= logits.max(axis=1, keepdims=True)
        soft = np.exp(logits)
        soft /= soft.sum(axis=1, keepdims=True)
        probs.update({m: soft[:, i] for i, m in enumerate(members)})
    independent = [t.name for t in vocab.tags if t.group not in exclusive]
    if independent:
        # one matmul for every independent tag: its direction is (tag − negatives)
        directions = np.stack([bank.tags[n] - bank.negatives[n] for n in independent])
        diff = bank.logit_scale * frames @ directions.T
        logistic = 0.5 * (1.0 + np.tanh(diff / 2))  # the logistic, without overflow
        probs.update({n: logistic[:, i] for i, n in enumerate(independent)})
    return probs


def aggregate(
    probs: np.ndarray, threshold: float, agg: Aggregation
) -> tuple[bool, float, np.ndarray]:
    """Frame probabilities → (tag applies, scene score, hit frame indices)."""
    hits = np.flatnonzero(probs >= threshold)
    if len(probs) == 0:
        return False, 0.0, hits
    if agg.method == "topk_mean":
        k = min(agg.top_k, len(probs))
        score = float(np.sort(probs)[-k:].mean())
        applies = score >= threshold and len(hits) >= min(agg.min_frames, len(probs))
    else:
        score = len(hits) / len(probs)
        applies = score >= agg.min_fraction and len(hits) >= min(agg.min_frames, len(probs))
    return applies, round(score, 4), hits


def class_confidence(detections: list[np.ndarray], classes: int = len(CLASS_IDS)) -> np.ndarray:
    """``(frames, classes)`` best confidence of each class in each frame (0 where absent)."""
    best = np.zeros((len(detections), classes), np.float32)
    counts = [len(d) for d in detections]
    if sum(counts):
        flat = np.concatenate([d for d in detections if len(d)])
        frame = np.repeat(np.arange(len(detections)), counts)
        np.maximum.at(best, (frame, flat[:, 5].astype(np.int64)), flat[:, 4])
    return best


def detection_frames(confidence: np.ndarray, rule: DetectionRule) -> np.ndarray:
    """Frames where any of the rule's classes is detected with enough confidence."""
    ids = [CLASS_IDS[c] for c in rule.classes]
    return np.flatnonzero(confidence[:, ids].max(axis=1) >= rule.min_confidence)


def frame_step(times: np.ndarray) -> float:
    """Typical spacing between frames (seconds)."""
    return float(np.median(np.diff(times))) if len(times) > 1 else 0.0


def merge_markers(
    times: np.ndarray,
    hits: np.ndarray,
    settings: MarkerSettings,
    tag: str,
    step: float | None = None,
) -> list[Marker]:
    """Hit frames → time ranges: a hit covers one frame step; ranges closer than the merge gap
    join; ranges shorter than the minimum length are dropped. ``times`` must increase."""
    step = frame_step(times) if step is None else step
    if len(hits) == 0 or step <= 0:
        return []
    hits = np.unique(hits)
    starts = times[hits]
    ends = starts + step
    breaks = np.flatnonzero(starts[1:] - ends[:-1] > settings.merge_gap_s + 1e-9) + 1
    markers = []
    for group in np.split(np.arange(len(hits)), breaks):
        start, end = float(starts[group[0]]), float(ends[group[-1]])
        if end - start >= settings.min_length_s - 1e-9:
            markers.append(
                Marker(tag, round(start, 3), round(end, 3), tuple(map(int, hits[group])))
            )
    return markers


def match_studio(
    ocr: list[dict], studios: list[str], settings: StudioSettings
) -> StudioMatch | None:
    """Best fuzzy match of any confident OCR line against the studio names."""
    if not studios or not settings.enabled:
        return None
    from rapidfuzz import fuzz, process, utils

    best: StudioMatch | None = None
    for line in ocr:
        if line["score"] < settings.min_text_score or len(line["text"].strip()) < 3:
            continue
        found = process.extractOne(
            line["text"], studios, scorer=fuzz.WRatio, processor=utils.default_process
        )
        if found and found[1] >= settings.min_score and (best is None or found[1] > best.score):
            best = StudioMatch(found[0], round(float(found[1]), 1), line["text"], line["frame"])
    return best


def map_scene(
    record: SceneRecord,
    vocab: Vocabulary,
    bank: TextBank,
    studios: list[str] | None = None,
    learned: Sequence[LearnedTag] = (),
) -> SceneResult:
    """Tags, markers and studio for one stored scene (``learned``: tags from
    :func:`stashtag.client.thresholds.effective_tags`)."""
    result = SceneResult(record.scene, record.source, record.frames, record.time_basis)
    with_markers = vocab.markers.enabled and record.time_basis != "still"
    step = frame_step(record.times)
    probs = frame_probabilities(record.clip, vocab, bank)
    for rule in vocab.tags:
        applies, score, hits = aggregate(probs[rule.name], rule.threshold, vocab.aggregation)
        if not applies:
            continue
        result.tags.append(TagHit(rule.name, rule.parent, score, "clip", tuple(map(int, hits))))
        if with_markers and rule.markers:
            result.markers += merge_markers(record.times, hits, vocab.markers, rule.name, step)
    for tag in learned:
        probs = tag.frame_probabilities(record)
        score = tag.score(probs)
        if score < tag.threshold:
            continue
        hits = np.flatnonzero(probs >= tag.threshold)
        frames = tuple(map(int, hits))
        result.tags.append(TagHit(tag.name, tag.parent, round(score, 4), "learned", frames))
        if with_markers and tag.markers:
            result.markers += merge_markers(record.times, hits, vocab.markers, tag.name, step)
    confidence = class_confidence(record.detections)
    for rule in vocab.detections:
        hits = detection_frames(confidence, rule)
        if len(hits) < min(rule.min_frames, max(record.frames, 1)):
            continue
        score = round(len(hits) / max(record.frames, 1), 4)
        result.tags.append(TagHit(rule.tag, rule.parent, score, "yolo", tuple(map(int, hits))))
        if with_markers and rule.markers:
            result.markers += merge_markers(record.times, hits, vocab.markers, rule.tag, step)
    result.studio = match_studio(record.ocr, studios or [], vocab.studio)
    result.text = list(
        dict.fromkeys(
            line["text"]
            for line in record.ocr
            if line["score"] >= vocab.studio.min_text_score
            and sum(c.isalnum() for c in line["text"]) >= 2
        )
    )
    result.tags.sort(key=lambda t: -t.score)
    return result
