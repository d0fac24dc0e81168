"""Per-tag thresholds set by ``stashtag calibrate``, kept in the store, and the tag set a run
uses: the vocabulary, plus the learned tags of the model id, with calibrated thresholds on top.

Calibrated thresholds take precedence over the vocabulary's (a run logs how many are in use);
``stashtag calibrate --reset`` drops them.
"""

from __future__ import annotations

import dataclasses
import time

from stashtag_client.store import Store
from stashtag_client.tagging.learned import LearnedTag, load_learned
from stashtag_client.tagging.vocabulary import Vocabulary, VocabularyError


def calibrated(store: Store, model_id: str) -> dict[str, float]:
    rows = store.db.execute(
        "SELECT name, threshold FROM tag_thresholds WHERE model_id = ?", (model_id,)
    )
    return dict(rows.fetchall())


def save_thresholds(store: Store, model_id: str, changes: dict[str, tuple[float, float]]) -> None:
    """``changes``: tag name → (previous, new threshold)."""
    with store.db:
        store.db.executemany(
            "INSERT OR REPLACE INTO tag_thresholds VALUES (?,?,?,?,?)",
            [(model_id, n, new, old, time.time()) for n, (old, new) in changes.items()],
        )


def reset_thresholds(store: Store, model_id: str) -> int:
    with store.db:
        return store.db.execute(
            "DELETE FROM tag_thresholds WHERE model_id = ?", (model_id,)
        ).rowcount


def effective_tags(
    store: Store, model_id: str, vocab: Vocabulary
) -> tuple[Vocabulary, list[LearnedTag]]:
    """The vocabulary and learned tags a run applies for ``model_id``.

    Every tag learned for the model id is used; a ``kind: learned`` entry in the vocabulary
    overrides its threshold, parent and markers, and names a tag that must have been learned.
    A learned tag replaces a CLIP tag of the same name.
    """
    learned = {t.name.casefold(): t for t in load_learned(store, model_id)}
    for rule in vocab.learned:
        tag = learned.get(rule.name.casefold())
        if tag is None:
            raise VocabularyError(
                f"{vocab.source}: tag {rule.name!r} is of kind learned but nothing is learned "
                f"for it with model {model_id}: run `stashtag learn {rule.name!r}` first"
            )
        learned[rule.name.casefold()] = dataclasses.replace(
            tag,
            threshold=tag.threshold if rule.threshold is None else rule.threshold,
            parent=rule.parent or tag.parent,
            markers=rule.markers,
        )
    overrides = {n.casefold(): v for n, v in calibrated(store, model_id).items()}
    tags = tuple(
        dataclasses.replace(t, threshold=overrides.get(t.name.casefold(), t.threshold))
        for t in vocab.tags
        if t.name.casefold() not in learned
    )
    out = [
        dataclasses.replace(t, threshold=overrides.get(key, t.threshold))
        for key, t in learned.items()
    ]
    return dataclasses.replace(vocab, tags=tags), out
