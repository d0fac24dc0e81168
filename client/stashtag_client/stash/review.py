"""The review queue: suggestions (``AI Review: <tag>``) the user accepts or rejects in Stash.

Suggestions are tags under the review parent: tags under the auto-apply level
(``policy.review_below``), tags a rule sent to review, unconfirmed learned tags, or everything in
suggest mode. To decide, the user removes the wrong suggestions from a scene (each removal is a
rejection), then tags the scene ``AI_Accept`` (the remaining suggestions become the tags
themselves) or ``AI_Reject`` (they are all rejected); the *Apply review decisions* task then does
it. Every decision is stored (``stash_review``) and feeds calibration: an accepted tag is a tag
the user has, a rejected one a rejection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stashtag_client.stash.sync import StashSync
from stashtag_client.stash.workflow import ACCEPT_TAG, REJECT_TAG


@dataclass
class ReviewReport:
    scenes: int = 0
    accepted: list[tuple[str, str]] = field(default_factory=list)  # (scene id, tag)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def apply_review(sync: StashSync, progress: Callable[[float], None] | None = None) -> ReviewReport:
    """Carry out the ``AI_Accept`` / ``AI_Reject`` verdicts on every scene that has one."""
    report = ReviewReport()
    verdict = {n: sync.tags.get(n, create=False) for n in (ACCEPT_TAG, REJECT_TAG)}
    ids = [i for i in verdict.values() if i]
    scenes = sync.client.find_scenes(ids, "INCLUDES") if ids else []
    prefix = f"{sync.settings.review_parent}: "
    parents = {t.name: t.parent for t in sync.vocab.tags}
    for i, scene in enumerate(scenes):
        accept = verdict[ACCEPT_TAG] in scene.tags
        if accept and verdict[REJECT_TAG] in scene.tags:
            report.errors.append(f"scene {scene.id}: both {ACCEPT_TAG} and {REJECT_TAG}; skipped")
            continue
        report.scenes += 1
        suggestions = {t: n[len(prefix) :] for t, n in scene.tags.items() if n.startswith(prefix)}
        (report.accepted if accept else report.rejected).extend(
            (scene.id, n) for n in sorted(suggestions.values())
        )
        if sync.settings.dry_run:
            continue
        sync.ledger.review(scene.id, list(suggestions.values()), accept)
        if accept:
            # the user's decision: the tags are theirs now, never removed by stashtag
            real = [sync.tags.get(n, parents.get(n) or sync.parent) for n in suggestions.values()]
            sync.client.update_scene_tags([scene.id], sorted(real), "ADD")
            sync.ledger.forget(scene.id, set(suggestions))
        else:
            sync.ledger.reject(scene.id, set(suggestions))
        done = set(suggestions) | {t for t in ids if t in scene.tags}
        sync.client.update_scene_tags([scene.id], sorted(done), "REMOVE")
        if progress:
            progress((i + 1) / len(scenes))
    return report
