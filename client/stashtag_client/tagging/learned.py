"""Few-shot custom tags learned from the user's own tagging, on stored frame embeddings.

A learned tag is a logistic regression over each frame's CLIP and DINOv2 embeddings (both unit
length, concatenated), trained with the scenes the user tagged as positives and their other
scenes as negatives (scenes where the user rejected the tag weigh more). Scene labels are noisy
for frames — a tagged scene shows its concept in some frames only — so a second round keeps each
positive scene's best-scoring frames. A scene's score is the mean of its ``top_k`` best frame
probabilities; the threshold on it is chosen on out-of-fold scores from cross-validation (by
scene), which are also what the reported precision and recall come from. Classifiers live in
the store next to the embeddings they were trained on (per model id): learning and retagging
need no inference.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from stashtag_client.store import SceneRecord, Store
from stashtag_client.tagging.logistic import average_precision, fit_logistic, stratified_folds
from stashtag_client.tagging.vectors import logistic, unit
from stashtag_core.errors import StashtagError

MIN_EXAMPLES = 5
FOLDS = 5
REPEATS = 3
TOP_K = 5
NEGATIVE_FRAMES = 16  # frames taken from each negative scene (evenly spaced)
MAX_NEGATIVE_SCENES = 3000
REJECTED_WEIGHT = 3.0


class LearnError(StashtagError):
    """A tag cannot be learned (too few examples, nothing stored for them, …)."""


@dataclass(frozen=True)
class Metrics:
    positives: int
    negatives: int
    rejected: int  # negatives from feedback (AI_Incorrect, tags the user removed)
    folds: int
    precision: float  # at the chosen threshold, out of fold
    recall: float
    f1: float
    average_precision: float
    would_add: int = 0  # scenes without the tag (not rejected) it would tag, out of fold


@dataclass(frozen=True)
class LearnedTag:
    name: str
    model_id: str
    weights: np.ndarray
    bias: float
    threshold: float
    top_k: int = TOP_K
    parent: str | None = None
    metrics: Metrics | None = None
    created: float = field(default_factory=time.time)
    markers: bool = True

    def frame_probabilities(self, record: SceneRecord) -> np.ndarray:
        """One probability per frame DINOv2 saw (none: a scene tagged without DINOv2)."""
        if not len(record.dino_cls):
            return np.zeros(0, np.float32)
        return logistic(frame_features(record) @ self.weights + self.bias)

    def score(self, probs: np.ndarray) -> float:
        return scene_score(probs, self.top_k)


def frame_features(record: SceneRecord) -> np.ndarray:
    """``(frames, D + E)``: unit CLIP and unit DINOv2 embeddings side by side."""
    clip = record.clip[record.frames_of("dino")]  # the frames DINOv2 saw (frame budgets)
    return np.hstack([unit(clip), unit(record.dino_cls)]).astype(np.float32)


def scene_score(probs: np.ndarray, top_k: int = TOP_K) -> float:
    if len(probs) == 0:
        return 0.0
    k = min(top_k, len(probs))
    return float(np.sort(probs)[-k:].mean())


# --- training ---------------------------------------------------------------------------------


@dataclass
class _Examples:
    features: list[np.ndarray]  # per scene (frames, F)
    labels: np.ndarray  # per scene 0/1
    weights: np.ndarray  # per scene sample weight


def _negative_frames(x: np.ndarray) -> np.ndarray:
    if len(x) <= NEGATIVE_FRAMES:
        return x
    return x[np.linspace(0, len(x) - 1, NEGATIVE_FRAMES).round().astype(int)]


def _fit(ex: _Examples, idx: np.ndarray):
    """Two rounds of frame-level logistic regression on scenes ``idx``; returns (w, b)."""

    def stack(frames_of):
        xs, ys, ws = [], [], []
        for i in idx:
            x = frames_of(i)
            xs.append(x)
            ys.append(np.full(len(x), ex.labels[i]))
            # every scene weighs the same in total, however many frames it has
            ws.append(np.full(len(x), ex.weights[i] / len(x)))
        return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)

    def train(x, y, w):
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
        pos, neg = w[y == 1].sum(), w[y == 0].sum()
        w = np.where(y == 1, w / pos, w / neg) * len(y) / 2  # classes balanced
        coef, intercept = fit_logistic((x - mean) / std, y, w, c=0.5)
        return (coef / std).astype(np.float32), float(intercept - (coef * mean / std).sum())

    def all_frames(i):
        return ex.features[i] if ex.labels[i] else _negative_frames(ex.features[i])

    w, b = train(*stack(all_frames))

    def best_frames(i):
        x = ex.features[i]
        if not ex.labels[i]:
            return _negative_frames(x)
        probs = x @ w + b
        keep = max(TOP_K, len(x) // 2)
        return x[np.argsort(probs)[-keep:]]

    return train(*stack(best_frames))


def _scores(ex: _Examples, idx: np.ndarray, w: np.ndarray, b: float, top_k: int) -> np.ndarray:
    return np.array([scene_score(logistic(ex.features[i] @ w + b), top_k) for i in idx])


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The scene-score threshold maximising recall² / P(tagged) (Lee & Liu, 2003).

    The user's untagged scenes are unlabelled, not negative: some show the concept. Precision
    against them would push the threshold above every such scene; recall² / P(tagged) needs
    only the labelled positives and the share of all scenes tagged, and is proportional to
    precision × recall in expectation.
    """
    order = np.sort(np.unique(scores))
    candidates = np.concatenate([[order[0] - 1e-6], (order[1:] + order[:-1]) / 2, [order[-1]]])
    positives = scores[labels == 1]
    best, best_value = 0.5, -1.0
    for t in candidates:
        tagged = float(np.mean(scores >= t))
        if not tagged:
            continue
        value = float(np.mean(positives >= t)) ** 2 / tagged
        if value > best_value:
            best, best_value = float(t), value
    return float(np.clip(best, 0.0, 1.0))


def precision_recall(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    tp = float(np.sum(predicted & (labels == 1)))
    fp = float(np.sum(predicted & (labels == 0)))
    fn = float(np.sum(~predicted & (labels == 1)))
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def learn_tag(
    name: str,
    store: Store,
    model_id: str,
    positives: Iterable[str],
    negatives: Iterable[str] | None = None,
    rejected: Iterable[str] = (),
    parent: str | None = None,
    top_k: int = TOP_K,
    seed: int = 0,
) -> LearnedTag:
    """Learn ``name`` from scene keys: ``positives`` (the user's examples), ``negatives``
    (default: every other stored scene) and ``rejected`` (the tag was wrong there)."""
    # sorted: the folds, hence the threshold, must not depend on the order labels arrive in
    positives = sorted(set(positives))
    rejected = sorted(set(rejected) - set(positives))
    stored = {r.scene: r for r in store.records(model_id)}
    pos = [s for s in positives if s in stored]
    if len(pos) < MIN_EXAMPLES:
        unstored = len(positives) - len(pos)
        raise LearnError(
            f"tag {name!r}: {len(pos)} example scene(s) with stored embeddings, at least "
            f"{MIN_EXAMPLES} are needed"
            + (
                f" ({unstored} tagged scene(s) are not in the store yet: tag them first)"
                if unstored
                else ""
            )
        )
    taken = set(pos) | set(rejected)
    pool = sorted(s for s in (negatives if negatives is not None else stored) if s not in taken)
    rng = np.random.default_rng(seed)
    if len(pool) > MAX_NEGATIVE_SCENES:
        pool = sorted(rng.choice(pool, MAX_NEGATIVE_SCENES, replace=False))
    neg_strong = [s for s in rejected if s in stored]
    neg = [s for s in pool if s in stored] + neg_strong
    if len(neg) < MIN_EXAMPLES:
        raise LearnError(
            f"tag {name!r}: {len(neg)} stored scene(s) without the tag to learn what it is not; "
            f"at least {MIN_EXAMPLES} are needed"
        )
    keys = pos + neg
    ex = _Examples(
        [frame_features(stored[k]) for k in keys],
        np.array([1] * len(pos) + [0] * len(neg)),
        np.array(
            [1.0] * len(pos)
            + [1.0] * (len(neg) - len(neg_strong))
            + [REJECTED_WEIGHT] * len(neg_strong)
        ),
    )
    folds = min(FOLDS, len(pos), len(neg))
    # repeated: with a handful of examples one split's threshold is mostly luck
    oof = np.zeros(len(keys))
    for repeat in range(REPEATS):
        for train_idx, test_idx in stratified_folds(ex.labels, folds, seed + repeat):
            w, b = _fit(ex, train_idx)
            oof[test_idx] += _scores(ex, test_idx, w, b, top_k) / REPEATS
    threshold = choose_threshold(oof, ex.labels)
    p, r = precision_recall(oof >= threshold, ex.labels)
    metrics = Metrics(
        positives=len(pos),
        negatives=len(neg),
        rejected=len(neg_strong),
        folds=folds,
        precision=round(p, 4),
        recall=round(r, 4),
        f1=round(2 * p * r / (p + r), 4) if p + r else 0.0,
        average_precision=round(float(average_precision(ex.labels, oof)), 4),
        would_add=int(np.sum(oof[len(pos) : len(keys) - len(neg_strong)] >= threshold)),
    )
    w, b = _fit(ex, np.arange(len(keys)))
    return LearnedTag(name, model_id, w, b, round(threshold, 6), top_k, parent, metrics)


# --- storage ----------------------------------------------------------------------------------


def save_learned(store: Store, tag: LearnedTag) -> None:
    db = store.db
    with db:
        db.execute(
            "INSERT OR REPLACE INTO learned_tags VALUES (?,?,?,?,?,?,?,?,?)",
            (
                tag.model_id,
                tag.name,
                np.ascontiguousarray(tag.weights, np.float32).tobytes(),
                tag.bias,
                tag.threshold,
                tag.top_k,
                tag.parent,
                json.dumps(asdict(tag.metrics) if tag.metrics else {}),
                tag.created,
            ),
        )


def load_learned(store: Store, model_id: str) -> list[LearnedTag]:
    """Every tag learned for ``model_id``, by name."""
    rows = store.db.execute(
        "SELECT name, weights, bias, threshold, top_k, parent, metrics, created "
        "FROM learned_tags WHERE model_id = ? ORDER BY name",
        (model_id,),
    )
    out = []
    for name, weights, bias, threshold, top_k, parent, metrics, created in rows:
        m = json.loads(metrics)
        out.append(
            LearnedTag(
                name,
                model_id,
                np.frombuffer(weights, np.float32),
                bias,
                threshold,
                top_k,
                parent,
                Metrics(**m) if m else None,
                created,
            )
        )
    return out


def delete_learned(store: Store, model_id: str, names: Iterable[str] | None = None) -> list[str]:
    """Delete the named learned tags (all when ``names`` is None); returns what was deleted."""
    db = store.db
    existing = [t.name for t in load_learned(store, model_id)]
    wanted = {n.casefold() for n in names} if names is not None else None
    gone = [n for n in existing if wanted is None or n.casefold() in wanted]
    with db:
        db.executemany(
            "DELETE FROM learned_tags WHERE model_id = ? AND name = ?",
            [(model_id, n) for n in gone],
        )
    return gone
