"""Tag Stash scenes: fetch sprites, run the tagging pipeline, write tags/markers/studio back.

Rules (README, section Stash): tags stashtag creates sit under one parent
with ``ignore_auto_tag``; scene tags are only added/removed with ``bulkSceneUpdate`` and only the
tags stashtag itself added (recorded in the store) are ever removed; stashtag's markers carry a
title prefix and are reconciled against what Stash holds, so re-runs and crash-resumes neither
duplicate nor lose anything; the studio is set only on scenes without one unless overwriting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from stashtag_client.frames.sources import SceneSource, image_frames, sprite_frames
from stashtag_client.inference.pipeline import SceneOutcome, TagRun, server_model_id
from stashtag_client.inference.transport import (
    EndpointPool,
    RetryPolicy,
    ServerAccess,
    parse_endpoints,
)
from stashtag_client.stash.client import StashClient, StashError, StashScene, StashUncertain
from stashtag_client.stash.ledger import TagLedger
from stashtag_client.store import Store
from stashtag_client.tagging.descriptions import DescribeSettings, describe
from stashtag_client.tagging.mapping import SceneResult, map_scene
from stashtag_client.tagging.textbank import fetch_text_bank
from stashtag_client.tagging.thresholds import effective_tags
from stashtag_client.tagging.vocabulary import Vocabulary
from stashtag_core.errors import InputError, StashtagError
from stashtag_core.protocol import PRIORITY_BULK, PRIORITY_INTERACTIVE

MARKER_PREFIX = "[AI] "
T = TypeVar("T")
QUEUE_TAG, DONE_TAG, ERROR_TAG, INCORRECT_TAG = (
    "AI_TagMe",
    "AI_Tagged",
    "AI_Errored",
    "AI_Incorrect",
)
WORKFLOW_TAGS = (QUEUE_TAG, DONE_TAG, ERROR_TAG, INCORRECT_TAG)
ACCEPT_TAG, REJECT_TAG = "AI_Accept", "AI_Reject"  # the user's verdict on a scene's suggestions
REVIEW_TAGS = (ACCEPT_TAG, REJECT_TAG)
STRATEGIES = ("append", "only-new", "replace-own", "overwrite")
DESCRIPTION = "Created by stashtag"


@dataclass
class SyncSettings:
    endpoints: str = "127.0.0.1:8001"
    mode: str = "apply"  # "apply": add tags; "suggest": tags go under a review parent
    # append | only-new | replace-own | overwrite (see docs/policy.md)
    strategy: str = "append"
    only_new_any: bool = False  # only-new: skip scenes with any tag, not only stashtag's
    allow_overwrite: bool = False  # overwrite replaces the user's tags: never by default
    full_images: bool = False  # images: send the file itself, not Stash's thumbnail
    describe: bool = False  # write a description into empty scene details
    describe_overwrite: bool = False  # ... also over the user's own details
    description: DescribeSettings = field(default_factory=DescribeSettings)
    gallery_share: float = 0.3  # galleries: a tag on at least this share of their images
    parent_tag: str = ""  # "" → the vocabulary's parent_tag
    review_parent: str = "AI Review"
    markers: bool = True
    studio: bool = True
    overwrite_studio: bool = False
    dry_run: bool = False
    max_in_flight: int = 8
    ocr_frames: str = "ends:4"
    server_key: str | None = None  # for a guarded Triton (else STASHTAG_SERVER_KEY)
    tls_ca: str | None = None  # PEM CA of a TLS Triton (else STASHTAG_TLS_CA)
    interactive: bool = False  # hooks: served before other instances' bulk jobs
    # learned tags applied as such; the others are only suggested (under the review parent)
    confirmed_learned: frozenset[str] | str = frozenset()  # names (casefolded) or "*"

    def check(self) -> None:
        if self.strategy not in STRATEGIES:
            raise StashtagError(f"unknown strategy {self.strategy!r}: {', '.join(STRATEGIES)}")
        if self.strategy == "overwrite" and not self.allow_overwrite:
            raise StashtagError(
                "strategy overwrite replaces your own tags (saved first; undo restores them): "
                "enable it explicitly (--allow-overwrite, or the plugin's Allow overwrite)"
            )

    def learned_confirmed(self, name: str) -> bool:
        c = self.confirmed_learned
        return c == "*" or name.casefold() in c

    @property
    def access(self) -> ServerAccess:
        priority = PRIORITY_INTERACTIVE if self.interactive else PRIORITY_BULK
        return ServerAccess.from_env(self.server_key, self.tls_ca, priority=priority)


@dataclass
class SceneReport:
    scene_id: str
    status: str  # "tagged", "skipped", "error", "dry-run"
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    markers: int = 0
    studio: str = ""
    description: str = ""
    error: str = ""


class TagRegistry:
    """Tag ids by name: looked up exactly (names and aliases), created once, cached."""

    def __init__(self, client: StashClient, dry_run: bool) -> None:
        self.client, self.dry_run = client, dry_run
        self.cache: dict[str, str] = {}

    def get(self, name: str, parent: str | None = None, create: bool = True) -> str | None:
        key = name.casefold()
        if key in self.cache:
            return self.cache[key]
        tag = self.client.find_tag(name)
        if tag is None and create:
            if self.dry_run:
                return f"dry-run:{name}"
            parent_id = self.get(parent) if parent else None
            try:
                tag = create_once(
                    lambda: self.client.create_tag(name, parent_id, DESCRIPTION),
                    lambda: self.client.find_tag(name),
                    self.client.conn.timeout_s,
                )
            except StashError as exc:
                # created meanwhile (another run, another Stash client): use that one
                tag = self.client.find_tag(name) if "already exists" in str(exc) else None
                if tag is None:
                    raise
        if tag is None:
            return None
        self.cache[key] = tag["id"]
        return tag["id"]


class StashSync:
    """One connection to Stash plus the store that remembers what stashtag applied."""

    def __init__(
        self,
        client: StashClient,
        store: Store,
        vocab: Vocabulary,
        settings: SyncSettings,
        log: Callable[[str, str], None] | None = None,
        kind: str = "scene",  # or "image" / "gallery": what apply() writes to
    ) -> None:
        self.client, self.store, self.vocab, self.settings = client, store, vocab, settings
        self.log = log or (lambda level, msg: None)
        self.tags = TagRegistry(client, settings.dry_run)
        self.stash_key = client.conn.url
        self.parent = settings.parent_tag or vocab.parent_tag
        self.kind = kind
        settings.check()
        self.ledger = TagLedger(store.db, self.stash_key)

    # --- selection ----------------------------------------------------------------------------
    def scenes(self, selection: str) -> list:
        """``queued`` (AI_TagMe), ``untagged`` (not AI_Tagged), ``all`` or ``id:1,2,3``; for
        images ``all``, ``queued`` or ``gallery:ID``; for galleries ``all``."""
        if self.kind != "scene":
            return self._images_or_galleries(selection)
        if selection.startswith("id:"):
            found = [self.client.find_scene(i.strip()) for i in selection[3:].split(",") if i]
            return [s for s in found if s]
        if selection == "all":
            return self.client.find_scenes()
        tag = self.tags.get(QUEUE_TAG if selection == "queued" else DONE_TAG, create=False)
        if selection == "queued":
            return self.client.find_scenes([tag], "INCLUDES") if tag else []
        if selection == "untagged":
            return self.client.find_scenes([tag], "EXCLUDES") if tag else self.client.find_scenes()
        raise ValueError(f"unknown selection {selection!r}: queued, untagged, all or id:…")

    def _images_or_galleries(self, selection: str) -> list:
        if self.kind == "gallery":
            if selection != "all":
                raise ValueError(f"galleries: selection {selection!r} is not all")
            return self.client.find_galleries()
        if selection == "all":
            return self.client.find_images()
        if selection == "queued":
            tag = self.tags.get(QUEUE_TAG, create=False)
            return self.client.find_images([tag], "INCLUDES") if tag else []
        if selection.startswith("gallery:"):
            return self.client.find_images(gallery_ids=[selection.split(":", 1)[1]])
        raise ValueError(f"images: unknown selection {selection!r}: all, queued or gallery:ID")

    # --- sources --------------------------------------------------------------------------------
    def source(self, scene: StashScene, to_generate: list[str]) -> SceneSource:
        def load():
            sprite = self.client.fetch(scene.sprite_url) if scene.sprite_url else None
            vtt = self.client.fetch(scene.vtt_url) if sprite is not None and scene.vtt_url else None
            if sprite is not None and vtt is not None:
                return sprite_frames(
                    scene.id, sprite, vtt, scene.duration, scene.sprite_url, scene.vtt_url
                )
            to_generate.append(scene.id)
            missing = "sprite" if sprite is None else f"thumbnails VTT ({scene.vtt_url})"
            if scene.path and Path(scene.path).is_file():
                from stashtag_client.frames.video import load_video

                return load_video(scene.id, Path(scene.path), 81, 320)
            raise InputError(
                f"scene {scene.id} ({scene.title or scene.path}): no {missing} yet and the "
                "video file is not readable here; sprite generation was queued"
            )

        return SceneSource(scene.id, "stash", Path(scene.path or scene.id), loader=load)

    def image_source(self, image) -> SceneSource:
        """A Stash image as one still frame: its thumbnail (``full_images``: the file)."""
        key = self.key(image.id)

        def load():
            url = image.image_url if self.settings.full_images else image.thumbnail_url
            url = url or image.image_url
            data = self.client.fetch(url) if url else None
            if data is None:
                raise InputError(f"image {image.id} ({image.title or image.path}): {url} missing")
            return image_frames(key, data, image.path or url)

        return SceneSource(key, "image", Path(image.path or key), loader=load)

    # --- writing back -------------------------------------------------------------------------
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

    def key(self, item_id: str) -> str:
        """Where the store keeps an item's records (scenes by id, others by kind:id)."""
        return item_id if self.kind == "scene" else f"{self.kind}:{item_id}"

    def _already_tagged(self, scene: StashScene) -> bool:
        """only-new: the scene carries a tag from stashtag (or, with ``only_new_any``, any tag
        besides the workflow ones)."""
        if self.ledger.applied(self.key(scene.id)) & set(scene.tags):
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
        key = self.key(scene.id)
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
            if st.markers and self.kind == "scene"
            else set()
        )
        if st.dry_run:
            report.markers = len(markers)
            return report
        if users:
            self.ledger.save_tags(key, set(scene.tags))  # before any change: `undo` restores it
        self.ledger.reject(key, removed_by_user)
        self.ledger.record(key, add)  # intent first: a crash leaves no orphan
        self.client.update_tags(self.kind, [scene.id], sorted(add), "ADD")
        self.ledger.confirm(key, add)
        self.client.update_tags(self.kind, [scene.id], sorted(remove), "REMOVE")
        self.ledger.forget(key, remove)
        if self.kind != "scene":
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
        return report

    def _describe(self, scene: StashScene, result: SceneResult) -> str:
        """Write a description into the scene's details (empty ones unless overwriting)."""
        st = self.settings
        if not st.describe or (scene.details and not st.describe_overwrite):
            return ""
        try:
            text = describe(result, st.description)
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
        if self.settings.dry_run or self.kind != "scene":
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
        if self.kind == "scene" and any(n == INCORRECT_TAG for n in scene.tags.values()):
            self.ledger.mark_incorrect(scene.id, self.ledger.applied(scene.id))

    # --- the whole job ------------------------------------------------------------------------
    async def run(
        self,
        scenes: list[StashScene],
        force: bool = False,
        progress: Callable[[float], None] | None = None,
    ) -> list[SceneReport]:
        progress = progress or (lambda f: None)
        to_generate: list[str] = []
        policy = RetryPolicy(attempts=6)
        async with EndpointPool(
            parse_endpoints(self.settings.endpoints),
            self.settings.max_in_flight,
            policy,
            self.settings.access,
        ) as pool:
            model_id = await server_model_id(pool)
            vocab, learned = self.tagset(model_id)
            bank = await fetch_text_bank(pool, self.store, model_id, vocab)
            is_scene = self.kind == "scene"
            studios = self.client.studios() if self.settings.studio and is_scene else {}
            done = [0]

            def on_done(_o: SceneOutcome) -> None:
                done[0] += 1
                progress(0.9 * done[0] / max(len(scenes), 1))

            sources = [
                self.source(s, to_generate) if is_scene else self.image_source(s) for s in scenes
            ]
            ocr = self.settings.ocr_frames if is_scene else "none"  # no studio from images
            outcomes = await TagRun(pool, self.store, model_id, ocr, on_done).run(sources, force)
        by_id = {o.scene: o for o in outcomes}
        if to_generate and not self.settings.dry_run:
            job = self.client.generate_sprites(sorted(set(to_generate)))
            self.log(
                "i", f"queued sprite generation for {len(set(to_generate))} scene(s) (job {job})"
            )
        reports = []
        for i, scene in enumerate(scenes):
            outcome = by_id[self.key(scene.id)]
            try:
                self.record_feedback(scene)
                if outcome.status == "error":
                    self.log("e", f"{self.kind} {scene.id}: {outcome.error}")
                    self.workflow(scene, ok=False)
                    reports.append(SceneReport(scene.id, "error", error=outcome.error))
                    continue
                report = self._retag_one(scene, model_id, vocab, bank, studios, learned)
                self.workflow(scene, ok=report.status != "error")
            except StashError as exc:
                self.log("e", f"{self.kind} {scene.id}: {exc}")
                report = SceneReport(scene.id, "error", error=str(exc))
            reports.append(report)
            progress(0.9 + 0.1 * (i + 1) / len(scenes))
        return reports

    def tagset(self, model_id: str):
        """The vocabulary with calibrated thresholds, and the learned tags (logged)."""
        vocab, learned = effective_tags(self.store, model_id, self.vocab)
        if learned:
            confirmed = sum(self.settings.learned_confirmed(t.name) for t in learned)
            self.log(
                "i",
                f"{len(learned)} learned tag(s), {confirmed} confirmed (the others are "
                "only suggested)",
            )
        return vocab, learned

    def store_model_id(self) -> str:
        ids = self.store.model_ids()
        if len(ids) != 1:
            raise StashError(f"the store holds {len(ids)} model ids {ids}: tag scenes first")
        return ids[0]

    def retag(
        self, scenes: list[StashScene], progress: Callable[[float], None] | None = None
    ) -> list[SceneReport]:
        """Re-apply tags from stored embeddings with the current vocabulary: no GPU."""
        from stashtag_client.tagging.textbank import cached_text_bank

        model_id = self.store_model_id()
        vocab, learned = self.tagset(model_id)
        bank = cached_text_bank(self.store, model_id, vocab)
        studios = self.client.studios() if self.settings.studio else {}
        reports = []
        for i, scene in enumerate(scenes):
            reports.append(self._retag_one(scene, model_id, vocab, bank, studios, learned))
            if progress:
                progress((i + 1) / len(scenes))
        return reports

    def _retag_one(self, scene, model_id, vocab, bank, studios, learned) -> SceneReport:
        record = self.store.get(self.key(scene.id), model_id)
        if record is None:
            return SceneReport(scene.id, "skipped", error="not tagged yet")
        result = map_scene(record, vocab, bank, list(studios), learned)
        if result.error:  # a rule loop: change nothing on the scene
            self.log("e", f"{self.kind} {scene.id}: {result.error}")
            return SceneReport(scene.id, "error", error=result.error)
        try:
            return self.apply(scene, result, studios)
        except StashError as exc:
            self.log("e", f"{self.kind} {scene.id}: {exc}")
            return SceneReport(scene.id, "error", error=str(exc))

    def duplicates(self, tag_name: str):
        """Find duplicate pairs in the store and tag both scenes of each with ``tag_name``."""
        from stashtag_client.tagging.similarity import find_duplicates

        pairs = find_duplicates(self.store, self.store_model_id())
        if pairs and not self.settings.dry_run:
            tag = self.tags.get(tag_name, self.parent)
            for d in pairs:
                for sid in (d.a, d.b):
                    self.ledger.record(sid, {tag})
                self.client.update_scene_tags([d.a, d.b], [tag], "ADD")
                for sid in (d.a, d.b):
                    self.ledger.confirm(sid, {tag})
        return pairs

    def missing_sprites(self, scenes: list[StashScene]) -> list[str]:
        return [s.id for s in scenes if not s.sprite_url or self.client.fetch(s.sprite_url) is None]

    def undo(self, scenes: list[StashScene]) -> int:
        """Remove every tag and marker stashtag added (the user's stay), and give scenes that
        `overwrite` changed their earlier tags back."""
        changed = 0
        for scene in scenes:
            key = self.key(scene.id)
            ours = self.ledger.applied(key) & set(scene.tags)
            markers = [
                m["id"]
                for m in (self.client.scene_markers(scene.id) if self.kind == "scene" else [])
                if m["title"].startswith(MARKER_PREFIX)
            ]
            saved = self.ledger.saved_tags(key)
            restore = (saved or set()) - (set(scene.tags) - ours)
            if self.settings.dry_run or not (ours or markers or saved is not None):
                changed += bool(ours or markers or restore)
                continue
            self.client.update_tags(self.kind, [scene.id], sorted(ours), "REMOVE")
            self.ledger.forget(key, ours)
            self.client.destroy_markers(markers)
            if saved is not None:
                self.client.update_tags(self.kind, [scene.id], sorted(restore), "ADD")
                self.ledger.drop_saved(key)
            changed += 1
        return changed


def create_once(
    create: Callable[[], T], find: Callable[[], T | None], settle_s: float = 0.0, tries: int = 3
) -> T:
    """Create something exactly once even when Stash's answer to the create is lost: wait
    ``settle_s`` (a slow create may still land), then look for it before sending it again."""
    for _ in range(tries):
        try:
            return create()
        except StashUncertain as exc:
            last = exc
            time.sleep(settle_s)
            found = find()
            if found is not None:
                return found
    raise StashError(f"{last} (still missing after {tries} tries)")


def run_sync(
    sync: StashSync,
    selection: str,
    force: bool = False,
    progress: Callable[[float], None] | None = None,
) -> list[SceneReport]:
    return asyncio.run(sync.run(sync.scenes(selection), force, progress))
