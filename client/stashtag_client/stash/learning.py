"""Learning and calibration against a Stash library: labels from Stash, embeddings from the store.

Neither step sends anything to Triton: both read the frame embeddings (and cached prompt
embeddings) stored when the scenes were tagged.
"""

from __future__ import annotations

from collections.abc import Callable

from stashtag_client.stash.feedback import Snapshot, tag_ids, tag_labels, take_snapshot
from stashtag_client.stash.sync import StashSync
from stashtag_client.tagging.calibrate import MIN_LABELS, Calibration, calibrate
from stashtag_client.tagging.learned import LearnedTag, LearnError, learn_tag, save_learned
from stashtag_client.tagging.thresholds import save_thresholds

Progress = Callable[[float], None]


def _quiet(_f: float) -> None:
    pass


def learn_from_stash(
    sync: StashSync,
    names: list[str],
    progress: Progress = _quiet,
    snapshot: Snapshot | None = None,
) -> tuple[list[LearnedTag], dict[str, str]]:
    """Learn each tag in ``names`` from the scenes the user gave it by hand; save unless dry
    run. Returns (learned tags, tag name → why it could not be learned)."""
    model_id = sync.store_model_id()
    snap = snapshot or take_snapshot(sync, lambda f: progress(0.3 * f))
    learned, failed = [], {}
    for i, name in enumerate(names):
        tag = sync.client.find_tag(name)
        if tag is None:
            failed[name] = f"no tag named {name!r} in Stash"
            continue
        positives, _ = snap.labels({tag["id"]}, by_hand_only=True)
        _, rejected = snap.labels({tag["id"]}.union(*tag_ids(sync, tag["name"])))
        try:
            result = learn_tag(tag["name"], sync.store, model_id, positives, rejected=rejected)
        except LearnError as exc:
            failed[name] = str(exc)
            continue
        if not sync.settings.dry_run:
            save_learned(sync.store, result)
        learned.append(result)
        progress(0.3 + 0.7 * (i + 1) / len(names))
    return learned, failed


def calibrate_from_stash(
    sync: StashSync,
    min_labels: int = MIN_LABELS,
    progress: Progress = _quiet,
    snapshot: Snapshot | None = None,
) -> list[Calibration]:
    """New thresholds from the user's accepted and rejected tags; saved unless dry run."""
    tagset = sync.tagset()
    model_id, vocab, learned = tagset.model_id, tagset.vocab, tagset.learned
    snap = snapshot or take_snapshot(sync, lambda f: progress(0.8 * f))
    labels = {}
    for name in [t.name for t in vocab.tags] + [t.name for t in learned]:
        found = tag_labels(snap, sync, name)
        if found is not None:
            labels[name] = found
    results = calibrate(sync.store, model_id, vocab, tagset.bank, learned, labels, min_labels)
    changes = {c.tag: (c.old, c.new) for c in results if c.changed}
    if changes and not sync.settings.dry_run:
        save_thresholds(sync.store, model_id, changes)
    progress(1.0)
    return results
