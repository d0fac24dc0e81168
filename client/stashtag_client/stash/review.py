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

from stashtag_client.stash.client import StashClient
from stashtag_client.stash.items import Chosen
from stashtag_client.stash.models import StashScene
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
    scenes: Chosen = sync.client.find_scenes(ids, "INCLUDES") if ids else []
    prefix = f"{sync.settings.review_parent}: "
    for i, scene in enumerate(scenes):
        accept = verdict[ACCEPT_TAG] in scene.tags
        if accept and verdict[REJECT_TAG] in scene.tags:
            report.errors.append(f"scene {scene.id}: both {ACCEPT_TAG} and {REJECT_TAG}; skipped")
            continue
        report.scenes += 1
        names = sorted(n[len(prefix) :] for n in scene.tags.values() if n.startswith(prefix))
        (report.accepted if accept else report.rejected).extend((scene.id, n) for n in names)
        if sync.settings.dry_run:
            continue
        settle(sync, scene, names if accept else [], [] if accept else names)
        sync.client.update_scene_tags([scene.id], [t for t in ids if t in scene.tags], "REMOVE")
        if progress:
            progress((i + 1) / len(scenes))
    return report


def settle(
    sync: StashSync, scene: StashScene, accept: list[str], reject: list[str]
) -> tuple[list[str], list[str]]:
    """Accept and reject a scene's suggestions (tag names without the review prefix): an
    accepted one becomes the tag itself — the user's now, never removed by stashtag — and a
    rejected one is never suggested again; both are stored as feedback and leave the scene.
    Names that are not pending on the scene are ignored; returns what was settled."""
    prefix = f"{sync.settings.review_parent}: "
    pending = {n[len(prefix) :]: t for t, n in scene.tags.items() if n.startswith(prefix)}
    accept = sorted(set(accept) & set(pending))
    reject = sorted(set(reject) & set(pending) - set(accept))
    parents = {t.name: t.parent for t in sync.vocab.tags}
    for names, accepted in ((accept, True), (reject, False)):
        if not names:
            continue
        sync.ledger.review(scene.id, names, accepted)
        suggestions = {pending[n] for n in names}
        if accepted:
            real = [sync.tags.get(n, parents.get(n) or sync.parent) for n in names]
            sync.client.update_scene_tags([scene.id], sorted(real), "ADD")
            sync.ledger.forget(scene.id, suggestions)
        else:
            sync.ledger.reject(scene.id, suggestions)
        sync.client.update_scene_tags([scene.id], sorted(suggestions), "REMOVE")
    return accept, reject


def pending_suggestions(client: StashClient, review_parent: str) -> list[tuple[str, list[str]]]:
    """(scene id, suggestion names) for every scene with a pending suggestion, by scene id."""
    prefix = f"{review_parent}: "
    parent = client.find_tag(review_parent)  # suggestions are created under it
    if parent is None:
        return []
    out = []
    for scene in client.find_scenes([parent["id"]], "INCLUDES", depth=-1):
        names = sorted(n[len(prefix) :] for n in scene.tags.values() if n.startswith(prefix))
        if names:
            out.append((scene.id, names))
    return sorted(out, key=lambda row: int(row[0]) if row[0].isdigit() else 0)
