"""What the user told us about tags, read from Stash and the store: examples and rejections.

- A tag the user put on a scene by hand (stashtag never added it there) is a positive example.
- A tag stashtag added and the user kept is an accepted one (a positive for calibration).
- A tag stashtag added and the user removed, or any of stashtag's tags on a scene the user marked
  ``AI_Incorrect``, is a rejection (a negative for learning and calibration).

Suggestions (``AI Review: <tag>``) count for their tag: removing one rejects the tag, adding the
tag itself by hand accepts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stashtag_client.stash.sync import StashSync
from stashtag_client.stash.workflow import INCORRECT_TAG


@dataclass
class Snapshot:
    """Tag ids per scene: on it now, added by stashtag (still managed), rejected by the user."""

    tags: dict[str, set[str]] = field(default_factory=dict)
    applied: dict[str, set[str]] = field(default_factory=dict)
    rejected: dict[str, set[str]] = field(default_factory=dict)

    def labels(self, tag_ids: set[str], by_hand_only: bool = False) -> tuple[set[str], set[str]]:
        """(positive, negative) scene ids for a tag known under ``tag_ids``; with
        ``by_hand_only`` only the user's own tagging counts as positive."""
        negatives = {s for s, ids in self.rejected.items() if ids & tag_ids}
        positives = set()
        for scene, ids in self.tags.items():
            on = ids & tag_ids
            if not on or scene in negatives:
                continue
            if by_hand_only and on <= self.applied.get(scene, set()):
                continue
            positives.add(scene)
        return positives, negatives


def take_snapshot(sync: StashSync, progress: Callable[[float], None] | None = None) -> Snapshot:
    """Read every scene's tags once; record what the user removed and ``AI_Incorrect`` scenes."""
    scenes = sync.client.find_scenes()
    snap = Snapshot()
    for i, scene in enumerate(scenes):
        snap.tags[scene.id] = set(scene.tags)
        if not sync.settings.dry_run:
            removed = (
                sync.ledger.applied(scene.id) - set(scene.tags) - sync.ledger.pending(scene.id)
            )
            sync.ledger.reject(scene.id, removed)
        sync.writer.record_feedback(scene)
        snap.applied[scene.id] = sync.ledger.applied(scene.id)
        if progress and i % 100 == 0:
            progress(i / max(len(scenes), 1))
    snap.rejected = sync.ledger.rejections()
    incorrect = sync.tags.get(INCORRECT_TAG, create=False)
    for scene, ids in snap.tags.items():
        if incorrect and incorrect in ids:
            snap.rejected.setdefault(scene, set()).update(snap.applied.get(scene, set()))
    return snap


def tag_ids(sync: StashSync, name: str) -> tuple[set[str], set[str]]:
    """Stash ids a vocabulary tag goes by: (the tag itself, its review suggestion). A pending
    suggestion is no acceptance, but removing one is a rejection."""

    def ids(*names: str) -> set[str]:
        return {i for n in dict.fromkeys(names) if (i := sync.tags.get(n, create=False))}

    tag_name = sync.writer.tag_name
    return ids(tag_name(name)[0], name), ids(tag_name(name, suggest=True)[0])


def tag_labels(snap: Snapshot, sync: StashSync, name: str) -> tuple[set[str], set[str]] | None:
    """(accepted, rejected) scenes for a vocabulary tag; None when Stash has no such tag."""
    real, review = tag_ids(sync, name)
    if not real | review:
        return None
    return snap.labels(real)[0], snap.labels(real | review)[1]
