"""``stashtag calibrate``: per-tag thresholds from the user's accepted and rejected tags.

For each tag with enough labelled scenes (see :mod:`stashtag_client.stash.feedback`), the
decision is recomputed from stored embeddings at every candidate threshold; the one with the
best F-beta (β = 0.5: precision counts more than recall) wins, ties going to the smallest
change. No inference is needed: CLIP prompt embeddings come from the store's cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from stashtag_client.store import Store
from stashtag_client.tagging.learned import LearnedTag, precision_recall
from stashtag_client.tagging.mapping import TextBank, aggregate, frame_probabilities
from stashtag_client.tagging.vocabulary import Vocabulary

CANDIDATES = np.round(np.arange(0.02, 0.99, 0.01), 2)
BETA = 0.5  # F-beta favouring precision: a wrong tag costs more than a missed one
MIN_LABELS = 3


@dataclass(frozen=True)
class Calibration:
    tag: str
    kind: str  # "clip" or "learned"
    positives: int
    negatives: int
    old: float
    new: float
    precision_before: float = 0.0
    recall_before: float = 0.0
    precision_after: float = 0.0
    recall_after: float = 0.0
    note: str = ""  # why it was left as it is

    @property
    def changed(self) -> bool:
        return not self.note and self.new != self.old


def _f_beta(p: float, r: float) -> float:
    return (1 + BETA**2) * p * r / (BETA**2 * p + r) if p + r else 0.0


def _aggregated(t: float, probs: list, how) -> np.ndarray:
    return np.array([aggregate(p, t, how)[0] for p in probs])


def _at_least(t: float, scores: np.ndarray) -> np.ndarray:
    return scores >= t


def best_threshold(
    decide: Callable[[float], np.ndarray], labels: np.ndarray, current: float
) -> tuple[float, tuple[float, float], tuple[float, float]]:
    """(threshold, (precision, recall) before, after) maximising F-beta over the candidates."""
    before = precision_recall(decide(current), labels)
    best, best_key, after = current, (_f_beta(*before), 0.0), before
    for t in CANDIDATES:
        pr = precision_recall(decide(float(t)), labels)
        key = (_f_beta(*pr), -abs(float(t) - current))
        if key > best_key:
            best, best_key, after = float(t), key, pr
    return best, before, after


def calibrate(
    store: Store,
    model_id: str,
    vocab: Vocabulary,
    bank: TextBank,
    learned: list[LearnedTag],
    labels: dict[str, tuple[set[str], set[str]]],
    min_labels: int = MIN_LABELS,
) -> list[Calibration]:
    """New thresholds for the CLIP and learned tags in ``labels`` (name → (positive, negative)
    scene keys); tags with fewer than ``min_labels`` of either kind are reported, not changed."""
    clip_rules = {t.name: t for t in vocab.tags}
    learned_tags = {t.name: t for t in learned}
    wanted = {s for pos, neg in labels.values() for s in pos | neg}
    records = {s: store.get(s, model_id) for s in wanted}
    out = []
    for name, (pos, neg) in sorted(labels.items()):
        rule, tag = clip_rules.get(name), learned_tags.get(name)
        if rule is None and tag is None:
            continue
        kind = "clip" if rule is not None else "learned"
        current = rule.threshold if rule is not None else tag.threshold
        keys = [s for s in sorted(pos) if records.get(s)] + [
            s for s in sorted(neg) if records.get(s)
        ]
        y = np.array([1 if s in pos else 0 for s in keys])
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        if n_pos < min_labels or n_neg < min_labels:
            note = f"needs ≥ {min_labels} accepted and rejected scenes in the store"
            out.append(Calibration(name, kind, n_pos, n_neg, current, current, note=note))
            continue
        if rule is not None:
            probs = [frame_probabilities(records[s].clip, vocab, bank)[name] for s in keys]
            decide = partial(_aggregated, probs=probs, how=vocab.aggregation)
        else:
            scores = np.array([tag.score(tag.frame_probabilities(records[s])) for s in keys])
            decide = partial(_at_least, scores=scores)

        new, before, after = best_threshold(decide, y, current)
        pr = [round(v, 4) for v in (*before, *after)]
        out.append(
            Calibration(
                name, kind, n_pos, n_neg, current, round(new, 4), pr[0], pr[1], pr[2], pr[3]
            )
        )
    return out
