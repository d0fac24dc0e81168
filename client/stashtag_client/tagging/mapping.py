"""Model outputs → Stash tags, markers and a studio suggestion, for one stored scene.

Pure numpy over a :class:`SceneRecord`, so retagging a whole library with a new vocabulary or new
thresholds needs no inference: only the prompts' text embeddings (cached per model id).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from stashtag_client.store import SceneRecord
from stashtag_client.tagging.coco import CLASS_IDS, COCO_CLASSES
from stashtag_client.tagging.learned import LearnedTag
from stashtag_client.tagging.rules import RuleLoopError, run_rules
from stashtag_client.tagging.studio import StudioMatch, match_studio
from stashtag_client.tagging.vectors import logistic, unit
from stashtag_client.tagging.vocabulary import (
    Aggregation,
    DetectionRule,
    MarkerSettings,
    Vocabulary,
)


@dataclass(frozen=True)
class TagHit:
    name: str
    parent: str | None
    score: float  # fraction of frames (fraction) or mean top-k probability (topk_mean)
    source: str  # "clip", "yolo", an extra detector's name, "learned" or "rule"
    frames: tuple[int, ...]  # frames that support it


@dataclass(frozen=True)
class Marker:
    tag: str
    start: float  # seconds
    end: float
    frames: tuple[int, ...]


@dataclass
class SceneResult:
    scene: str
    source: str = ""
    frames: int = 0
    time_basis: str = ""
    tags: list[TagHit] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    studio: StudioMatch | None = None
    studio_ties: list[StudioMatch] = field(default_factory=list)  # too close to call: no studio
    text: list[str] = field(default_factory=list)  # distinct OCR text seen
    review: list[TagHit] = field(default_factory=list)  # suggestions, not applied
    scores: dict[str, float] = field(default_factory=dict)  # every tag's scene score
    rules: list[str] = field(default_factory=list)  # rules that changed the tags
    objects: list[str] = field(default_factory=list)  # COCO classes seen (confidence ≥ 0.5)
    error: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TextBank:
    """Unit text embeddings per tag (prompt ensemble) and per tag's negatives."""

    tags: dict[str, np.ndarray]
    negatives: dict[str, np.ndarray]
    logit_scale: float


def build_text_bank(
    vocab: Vocabulary, prompts: dict[str, np.ndarray], logit_scale: float
) -> TextBank:
    """Average each tag's prompt embeddings (and its negatives') into one unit vector."""

    def ensemble(texts: tuple[str, ...]) -> np.ndarray:
        return unit(np.mean([unit(prompts[t]) for t in texts], axis=0))

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
    frames = unit(clip)
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
        probs.update({n: p for n, p in zip(independent, logistic(diff).T, strict=True)})
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


def detection_frames(
    record: SceneRecord, coco: np.ndarray, rule: DetectionRule
) -> np.ndarray | None:
    """Frames (indices among the frames the rule's detector saw) where any of the rule's
    classes is detected with enough confidence (``coco``: :func:`class_confidence` of the YOLO
    detections); None when the record has no answer from the rule's detector."""
    if rule.detector == "yolo":
        confidence, ids = coco, [CLASS_IDS[c] for c in rule.classes]
    else:
        found = record.detected.get(rule.detector)
        if found is None:
            return None
        confidence = class_confidence(found.frames, len(found.classes))
        ids = [found.classes.index(c) for c in rule.classes if c in found.classes]
    if not ids or not len(confidence):
        return np.zeros(0, np.int64)
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


def studio_label(result: SceneResult) -> str:
    """``Studio (from screenshot)``, ``ambiguous: A | B``, or empty."""
    if result.studio:
        return f"{result.studio.studio} (from {result.studio.source})"
    if result.studio_ties:
        return "ambiguous: " + " | ".join(m.studio for m in result.studio_ties)
    return ""


def map_scene(
    record: SceneRecord,
    vocab: Vocabulary,
    bank: TextBank,
    studios: list[str] | None = None,
    learned: Sequence[LearnedTag] = (),
) -> SceneResult:
    """Tags, review suggestions, markers and studio for one stored scene (``learned``: tags
    from :func:`stashtag_client.tagging.thresholds.effective_tags`); policy and rules in the
    order of :mod:`stashtag_client.tagging.rules`. A rule loop leaves the scene with an error
    and no tags."""
    result = SceneResult(record.scene, record.source, record.frames, record.time_basis)
    with_markers = vocab.markers.enabled and record.time_basis != "still"
    step = frame_step(record.times)
    policy = vocab.policy
    # name → (hit, frames, markers, frame step): a model that saw every n-th frame (frame
    # budgets) covers n frames' time with each hit
    hits_of: dict[str, tuple[TagHit, np.ndarray, bool, float]] = {}

    def hit(
        name: str,
        parent,
        score: float,
        source: str,
        frames: np.ndarray,
        markers: bool,
        model: str = "clip",
    ):
        result.scores[name] = score
        frames = record.frames_of(model)[frames]  # indices among the scene's frames
        own_step = frame_step(record.times[record.frames_of(model)]) or step
        hits_of[name.casefold()] = (
            TagHit(name, parent, score, source, tuple(map(int, frames))),
            frames,
            markers,
            max(step, own_step),
        )

    probs = frame_probabilities(record.clip, vocab, bank)
    for rule in vocab.tags:
        threshold = policy.threshold(rule.name, rule.threshold)
        applies, score, frames = aggregate(probs[rule.name], threshold, vocab.aggregation)
        result.scores[rule.name] = score
        if applies:
            hit(rule.name, rule.parent, score, "clip", frames, rule.markers)
    for tag in learned:
        frame_probs = tag.frame_probabilities(record)
        score = round(tag.score(frame_probs), 4)
        threshold = policy.threshold(tag.name, tag.threshold)
        result.scores[tag.name] = score
        if score >= threshold:
            hit(
                tag.name,
                tag.parent,
                score,
                "learned",
                np.flatnonzero(frame_probs >= threshold),
                tag.markers,
                "dino",
            )
    confidence = class_confidence(record.detections)
    for det in vocab.detections:
        frames = detection_frames(record, confidence, det)
        if frames is None:  # the server did not run this rule's detector
            continue
        seen = max(len(record.frames_of(det.detector)), 1)
        score = round(len(frames) / seen, 4)
        result.scores[det.tag] = max(score, result.scores.get(det.tag, 0.0))
        # min_frames counts the scene's frames: a detector that saw every n-th needs n× fewer
        need = math.ceil(det.min_frames * seen / max(record.frames, 1))
        enough = len(frames) >= min(need, seen)
        if enough and len(frames) and score >= det.min_fraction:
            hit(det.tag, det.parent, score, det.detector, frames, det.markers, det.detector)
    try:
        _apply_policy(result, hits_of, vocab, confidence)
    except RuleLoopError as exc:
        result.error = f"{record.scene}: {exc}"
        result.tags, result.review = [], []
    for key, (h, frames, markers, hit_step) in hits_of.items():
        if with_markers and markers and any(t.name.casefold() == key for t in result.tags):
            result.markers += merge_markers(record.times, frames, vocab.markers, h.name, hit_step)
    result.studio, result.studio_ties = match_studio(record.ocr, studios or [], vocab.studio)
    result.text = list(
        dict.fromkeys(
            line["text"]
            for line in record.ocr
            if line["score"] >= vocab.studio.min_text_score
            and sum(c.isalnum() for c in line["text"]) >= 2
        )
    )
    result.tags.sort(key=lambda t: -t.score)
    result.review.sort(key=lambda t: -t.score)
    return result


def _apply_policy(result: SceneResult, hits_of: dict, vocab: Vocabulary, confidence) -> None:
    """Rules, deny/allow lists and review routing (see :mod:`stashtag_client.tagging.rules`)."""
    policy = vocab.policy
    applied = {k: (h.name, h.score, h.parent) for k, (h, *_) in hits_of.items()}
    objects = {COCO_CLASSES[i] for i in np.flatnonzero(confidence.max(axis=0, initial=0) >= 0.5)}
    result.objects = sorted(objects)
    scores = {n.casefold(): v for n, v in result.scores.items()}
    state = run_rules(vocab.rules, applied, scores, objects) if vocab.rules else None
    if state is not None:
        applied, review = state.applied, dict(state.review)
        result.rules = list(dict.fromkeys(state.fired))
    else:
        review = {}

    def allowed(key: str) -> bool:
        return key not in policy.deny and (policy.allow is None or key in policy.allow)

    def as_hit(key: str, entry: tuple) -> TagHit:
        return (
            hits_of[key][0] if key in hits_of else TagHit(entry[0], entry[2], entry[1], "rule", ())
        )

    result.tags, result.review = [], []
    for key, entry in applied.items():
        if not allowed(key):
            continue
        if policy.review_below is not None and entry[1] < policy.review_below:
            review[key] = entry
            continue
        result.tags.append(as_hit(key, entry))
    result.review = [as_hit(k, e) for k, e in review.items() if allowed(k)]
