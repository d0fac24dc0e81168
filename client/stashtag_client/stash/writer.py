"""Writing a run's results back to Stash: tags, review suggestions, markers, studio, details.

Rules (README, section Stash): tags stashtag creates carry ``ignore_auto_tag`` (vocabulary tags
under the parent tag, suggestions under the review parent); tags are only added or removed with
the bulk update mutations, and only the tags stashtag itself added (recorded in the ledger) are
ever removed; stashtag's markers carry a title prefix and are reconciled against what Stash
holds, so re-runs and crash-resumes neither duplicate nor lose anything; the studio is set only
on scenes without one unless overwriting.
"""

from __future__ import annotations

from collections.abc import Callable

from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.items import Chosen, StashItems
from stashtag_client.stash.ledger import TagLedger
from stashtag_client.stash.models import StashScene
from stashtag_client.stash.tags import TagRegistry, create_once
from stashtag_client.stash.workflow import (
    DONE_TAG,
    ERROR_TAG,
    INCORRECT_TAG,
    QUEUE_TAG,
    REVIEW_TAGS,
    WORKFLOW_TAGS,
    SceneReport,
)
from stashtag_client.tagging.descriptions import describe
from stashtag_client.tagging.mapping import SceneResult, studio_label
from stashtag_client.wiring import describe_settings
from stashtag_core.errors import StashtagError

MARKER_PREFIX = "[AI] "


class StashWriter:
    """Applies results to one kind of item and undoes what stashtag applied."""

    def __init__(
        self,
        client: StashClient,
        items: StashItems,
        tags: TagRegistry,
        ledger: TagLedger,
        settings: Settings,
        parent: str,
        log: Callable[[str, str], None],
    ) -> None:
        self.client, self.items, self.tags, self.ledger = client, items, tags, ledger
        self.settings, self.parent, self.log = settings, parent, log

    def remove_everywhere(self, names: list[str]) -> int:
        """Take tags (and their review suggestions) off every scene stashtag put them on;
        returns how many scenes changed. The user's own uses stay."""
        ids = {
            i
            for n in names
            for i in (
                self.tags.get(n, create=False),
                self.tags.get(self.tag_name(n, suggest=True)[0], create=False),
            )
            if i
        }
        if not ids:
            return 0
        by_scene = self.ledger.items_with(ids)
        if self.settings.dry_run:
            return len(by_scene)
        for scene_id, tag_ids in sorted(by_scene.items()):
            self.client.update_scene_tags([scene_id], sorted(tag_ids), "REMOVE")
            self.ledger.forget(scene_id, tag_ids)
        return len(by_scene)

    def tag_name(self, name: str, suggest: bool = False) -> tuple[str, str]:
        """(Stash tag name, its parent) for a vocabulary tag in the current mode."""
        if suggest or self.settings.mode == "suggest":
            return f"{self.settings.review_parent}: {name}", self.settings.review_parent
        return name, self.parent

    def _suggest_only(self, hit) -> bool:
        return hit.source == "learned" and not self.settings.learned_confirmed(hit.name)

    def _already_tagged(self, scene: StashScene) -> bool:
        """only-new: the scene carries a tag from stashtag (or, with ``only_new_any``, any tag
        besides the workflow ones)."""
        if self.ledger.applied(self.items.key(scene.id)) & set(scene.tags):
            return True
        return self.settings.only_new_any and any(
            n not in WORKFLOW_TAGS + REVIEW_TAGS for n in scene.tags.values()
        )

    def apply(self, scene: StashScene, result: SceneResult, studios: dict[str, str]) -> SceneReport:
        st = self.settings
        report = SceneReport(scene.id, "dry-run" if st.dry_run else "tagged")
        if st.strategy == "only-new" and self._already_tagged(scene):
            report.status = "skipped"
            report.error = "only-new: the scene has tags already"
            return report
        desired: dict[str, str] = {}  # tag id → name: tags to apply
        suggestions: dict[str, str] = {}  # review suggestions
        marked: set[str] = set()  # vocabulary names applied as such (markers follow them)
        hits = [(h, False) for h in result.tags] + [(h, True) for h in result.review]
        for hit, for_review in hits:
            suggest = for_review or self._suggest_only(hit)
            if suggest and self.tags.get(self.tag_name(hit.name)[0], create=False) in scene.tags:
                continue  # the scene has the tag itself already: nothing to suggest
            name, parent = self.tag_name(hit.name, suggest)
            (suggestions if suggest or st.mode == "suggest" else desired)[
                self.tags.get(name, parent)
            ] = name
            if not suggest:
                marked.add(hit.name)
        wanted = desired | suggestions
        key = self.items.key(scene.id)
        applied = self.ledger.applied(key)
        removed_by_user = applied - set(scene.tags) - self.ledger.pending(key)
        rejected = self.ledger.rejected(key) | removed_by_user
        add = {t for t in wanted if t not in scene.tags and t not in rejected}
        ours = {t for t in applied if t in scene.tags and t not in wanted}
        review_prefix = f"{st.review_parent}: "
        if st.strategy == "append":  # earlier tags stay; stale suggestions go
            remove = {t for t in ours if scene.tags[t].startswith(review_prefix)}
        else:
            remove = ours
        users = set()
        if st.strategy == "overwrite":
            keep = set(WORKFLOW_TAGS + REVIEW_TAGS)
            users = {
                t
                for t in scene.tags
                if t not in applied and t not in wanted and scene.tags[t] not in keep
            }
            remove |= users
        report.added = sorted(wanted[t] for t in add)
        report.removed = sorted(scene.tags.get(t, t) for t in remove)
        markers = (
            {m for m in self._desired_markers(result) if m[0] in marked}
            if st.markers and self.items.extras
            else set()
        )
        if st.dry_run:
            report.markers = len(markers)
            return report
        if users:
            self.ledger.save_tags(key, set(scene.tags))  # before any change: `undo` restores it
        self.ledger.reject(key, removed_by_user)
        self.ledger.record(key, add)  # intent first: a crash leaves no orphan
        self.client.update_tags(self.items.kind, [scene.id], sorted(add), "ADD")
        self.ledger.confirm(key, add)
        self.client.update_tags(self.items.kind, [scene.id], sorted(remove), "REMOVE")
        self.ledger.forget(key, remove)
        if not self.items.extras:
            return report
        report.markers = self._sync_markers(scene, markers)
        report.description = self._describe(scene, result)
        if (
            self.settings.studio
            and result.studio
            and (scene.studio is None or self.settings.overwrite_studio)
        ):
            sid = studios.get(result.studio.studio)
            if sid and (scene.studio is None or scene.studio[0] != sid):
                self.client.set_studio(scene.id, sid)
                report.studio = result.studio.studio
                report.studio_from = result.studio.source
        elif self.settings.studio and result.studio_ties:
            self.log("i", f"scene {scene.id}: studio not set, {studio_label(result)}")
        return report

    def _describe(self, scene: StashScene, result: SceneResult) -> str:
        """Write a description into the scene's details (empty ones unless overwriting)."""
        st = self.settings
        if not st.describe or (scene.details and not st.describe_overwrite):
            return ""
        try:
            text = describe(result, describe_settings(st))
        except StashtagError as exc:  # a description is a bonus: the tags are written anyway
            self.log("w", f"scene {scene.id}: no description ({exc})")
            return ""
        if text and text != scene.details:
            self.client.set_details(scene.id, text)
        return text

    def _desired_markers(self, result: SceneResult) -> set[tuple[str, float, float]]:
        return {(m.tag, round(m.start, 2), round(m.end, 2)) for m in result.markers}

    def _sync_markers(self, scene: StashScene, desired: set[tuple[str, float, float]]) -> int:
        """Make stashtag's markers on the scene equal ``desired``; the user's are not touched."""
        ours = self._our_markers(scene.id)
        # markers no longer wanted, and doubles of wanted ones
        extra = [i for key, ids in ours.items() for i in (ids if key not in desired else ids[1:])]
        self.client.destroy_markers(extra)
        for key in sorted(desired - set(ours)):
            self._create_marker(scene.id, key)
        return len(desired)

    def _create_marker(self, scene_id: str, key: tuple[str, float, float]) -> str:
        tag, start, end = key
        name, parent = self.tag_name(tag)
        tag_id = self.tags.get(name, parent)
        return create_once(
            lambda: self.client.create_marker(scene_id, tag_id, MARKER_PREFIX + tag, start, end),
            lambda: (self._our_markers(scene_id).get(key) or [None])[0],
            self.client.conn.timeout_s,
        )

    def _our_markers(self, scene_id: str) -> dict[tuple[str, float, float], list[str]]:
        """stashtag's markers on a scene: (tag, start, end) → marker ids (one, unless a lost
        answer let a create land twice)."""
        ours: dict[tuple[str, float, float], list[str]] = {}
        for m in self.client.scene_markers(scene_id):
            if m["title"].startswith(MARKER_PREFIX):
                key = (
                    m["title"][len(MARKER_PREFIX) :],
                    round(m["seconds"], 2),
                    round(m["end_seconds"] or m["seconds"], 2),
                )
                ours.setdefault(key, []).append(m["id"])
        return ours

    def workflow(self, scene: StashScene, ok: bool) -> None:
        if self.settings.dry_run or not self.items.extras:
            return
        ids = {n: self.tags.get(n) for n in (QUEUE_TAG, DONE_TAG, ERROR_TAG)}
        if ok:
            self.client.update_scene_tags([scene.id], [ids[DONE_TAG]], "ADD")
            self.client.update_scene_tags([scene.id], [ids[QUEUE_TAG], ids[ERROR_TAG]], "REMOVE")
        else:
            self.client.update_scene_tags([scene.id], [ids[ERROR_TAG]], "ADD")
            self.client.update_scene_tags([scene.id], [ids[QUEUE_TAG]], "REMOVE")

    def record_feedback(self, scene: StashScene) -> None:
        """Scenes the user marked ``AI_Incorrect``: keep stashtag's tags on them as negatives."""
        if self.items.extras and any(n == INCORRECT_TAG for n in scene.tags.values()):
            self.ledger.mark_incorrect(scene.id, self.ledger.applied(scene.id))

    def undo(self, scenes: Chosen) -> int:
        """Remove every tag and marker stashtag added (the user's stay), and give scenes that
        `overwrite` changed their earlier tags back."""
        changed = 0
        for scene in scenes:
            key = self.items.key(scene.id)
            ours = self.ledger.applied(key) & set(scene.tags)
            markers = [
                m["id"]
                for m in (self.client.scene_markers(scene.id) if self.items.extras else [])
                if m["title"].startswith(MARKER_PREFIX)
            ]
            saved = self.ledger.saved_tags(key)
            restore = (saved or set()) - (set(scene.tags) - ours)
            if self.settings.dry_run or not (ours or markers or saved is not None):
                changed += bool(ours or markers or restore)
                continue
            self.client.update_tags(self.items.kind, [scene.id], sorted(ours), "REMOVE")
            self.ledger.forget(key, ours)
            self.client.destroy_markers(markers)
            if saved is not None:
                self.client.update_tags(self.items.kind, [scene.id], sorted(restore), "ADD")
                self.ledger.drop_saved(key)
            changed += 1
        return changed
