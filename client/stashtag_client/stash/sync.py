"""A Stash run: select items, tag them through one :class:`TaggingSession`, write back.

The parts live beside this module: :mod:`.items` (what is selected and sent, per kind of item),
:mod:`.writer` (what is written back), :mod:`.tags` and :mod:`.ledger` (what stashtag created and
applied). ``StashSync`` wires them to one Stash connection and one store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sized
from functools import partial

from stashtag_client.frames.sources import SceneSource
from stashtag_client.inference.pipeline import SceneOutcome
from stashtag_client.session import TagSet
from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashError
from stashtag_client.stash.instance import instance_key
from stashtag_client.stash.items import ITEMS, Chosen
from stashtag_client.stash.ledger import TagLedger
from stashtag_client.stash.tags import TagRegistry
from stashtag_client.stash.workflow import SceneReport, Tally
from stashtag_client.stash.writer import StashWriter
from stashtag_client.store import SceneRecord, Store
from stashtag_client.tagging.vocabulary import Vocabulary
from stashtag_client.wiring import tagging_session


def _no_progress(_fraction: float) -> None:
    pass


class StashSync:
    """One connection to Stash plus the store that remembers what stashtag applied."""

    def __init__(
        self,
        client: StashClient,
        store: Store,
        vocab: Vocabulary,
        settings: Settings,
        log: Callable[[str, str], None] | None = None,
        kind: str = "scene",  # or "image" / "gallery": what is selected and written
    ) -> None:
        settings.check()
        self.client, self.store, self.vocab, self.settings = client, store, vocab, settings
        self.log: Callable[[str, str], None] = log or (lambda level, msg: None)
        self.tags = TagRegistry(client, settings.dry_run)
        self.stash_key = instance_key(client, store.db, settings.dry_run, self.log)
        self.parent = settings.parent_tag or vocab.parent_tag
        self.items = ITEMS[kind](client, self.tags, settings)
        self.ledger = TagLedger(store.db, self.stash_key)
        self.generate_batch = 200  # scenes per sprite-generation job queued during a run
        # late-bound: a caller may set ``log`` after construction
        self.writer = StashWriter(
            client,
            self.items,
            self.tags,
            self.ledger,
            settings,
            self.parent,
            lambda level, msg: self.log(level, msg),
        )

    @property
    def kind(self) -> str:
        return self.items.kind

    def key(self, item_id: str) -> str:
        """Where the store keeps an item's records (scenes by id, others by kind:id)."""
        return self.items.key(item_id)

    def scenes(self, selection: str) -> Chosen:
        """The selected items: for scenes ``queued``, ``untagged``, ``all`` or ``id:1,2,3``;
        for images ``all``, ``queued`` or ``gallery:ID``; for galleries ``all``."""
        return self.items.select(selection)

    # --- the whole job ------------------------------------------------------------------------
    async def run(
        self,
        scenes: Iterable,
        force: bool = False,
        progress: Callable[[float], None] | None = None,
        tally: Tally | None = None,
    ) -> list[SceneReport]:
        """Tag ``scenes`` (a list or a streamed :class:`Selection`), writing each one back as
        soon as its answer is in, while later ones are still in flight: a run stopped at any
        moment leaves every finished scene written, and the next run skips them (their
        workflow tags say so; their embeddings are in the store). Reports are returned, or,
        for a whole library, counted into ``tally`` (then nothing is kept per scene)."""
        progress = progress or _no_progress
        total = max(len(scenes), 1) if isinstance(scenes, Sized) else 0
        to_generate: set[str] = set()
        reports: list[SceneReport] = []
        done = tally or Tally(keep=0, on_report=reports.append)
        waiting: dict[str, object] = {}  # store key → item, sent and not written yet
        server_event = partial(self.log, "w")
        async with tagging_session(self.settings, self.store, self.vocab, server_event) as session:
            tagset = session.tagset
            self._log_learned(tagset)
            studios = self.items.studios()

            def sources() -> Iterator[SceneSource]:
                for item in scenes:
                    if self.key(item.id) in waiting:  # selected twice: once is enough
                        continue
                    waiting[self.key(item.id)] = item
                    yield self.items.source(item, to_generate)

            def write(outcome: SceneOutcome) -> None:
                item = waiting.pop(outcome.scene)
                done.add(self._write_back(item, outcome, tagset, studios))
                progress(done.total / total if total else 0.0)
                if len(to_generate) >= self.generate_batch:
                    self._generate(to_generate)

            await session.tag(sources(), force, self.items.ocr_frames, write, collect=False)
        self._generate(to_generate)
        return reports

    def _generate(self, scene_ids: set[str]) -> None:
        """Queue Stash's sprite generation for ``scene_ids`` (then forgotten): jobs go out in
        batches while a run goes on, so a stopped run has queued what it found missing."""
        if not scene_ids or self.settings.dry_run:
            return
        batch = sorted(scene_ids, key=int)
        scene_ids.clear()
        try:
            job = self.client.generate_sprites(batch)
        except StashError as exc:  # the tagging went on; the next run asks again
            self.log("w", f"could not queue sprite generation for {len(batch)} scene(s): {exc}")
            return
        self.log("i", f"queued sprite generation for {len(batch)} scene(s) (job {job})")

    def _write_back(
        self, item, outcome: SceneOutcome, tagset: TagSet, studios: dict[str, str]
    ) -> SceneReport:
        """One item's tags, markers, studio and workflow tags, from its stored answer."""
        try:
            self.writer.record_feedback(item)
            if outcome.status == "error":
                self.log("e", f"{self.kind} {item.id}: {outcome.error}")
                self.writer.workflow(item, ok=False)
                return SceneReport(item.id, "error", error=outcome.error)
            if outcome.warning:  # tagged, but OCR read less than it should have
                self.log("w", f"{self.kind} {item.id}: {outcome.warning}")
            report = self._retag_one(item, tagset, studios, outcome.record)
            self.writer.workflow(item, ok=report.status != "error")
            return report
        except StashError as exc:
            self.log("e", f"{self.kind} {item.id}: {exc}")
            return SceneReport(item.id, "error", error=str(exc))

    def _log_learned(self, tagset: TagSet) -> None:
        if tagset.learned:
            confirmed = sum(self.settings.learned_confirmed(t.name) for t in tagset.learned)
            self.log(
                "i",
                f"{len(tagset.learned)} learned tag(s), {confirmed} confirmed (the others are "
                "only suggested)",
            )

    def tagset(self, model_id: str | None = None) -> TagSet:
        """The tag set from the store alone (no server): calibrated vocabulary, learned tags
        (logged), cached text bank."""
        tagset = TagSet.from_store(self.store, model_id or self.store_model_id(), self.vocab)
        self._log_learned(tagset)
        return tagset

    def store_model_id(self) -> str:
        ids = self.store.model_ids()
        if len(ids) != 1:
            raise StashError(f"the store holds {len(ids)} model ids {ids}: tag scenes first")
        return ids[0]

    def retag(
        self, scenes: Chosen, progress: Callable[[float], None] | None = None
    ) -> list[SceneReport]:
        """Re-apply tags from stored embeddings with the current vocabulary: no GPU."""
        tagset = self.tagset()
        studios = self.client.studios() if self.settings.studio else {}
        reports = []
        for i, scene in enumerate(scenes):
            reports.append(self._retag_one(scene, tagset, studios))
            if progress:
                progress((i + 1) / len(scenes))
        return reports

    def _retag_one(
        self, scene, tagset: TagSet, studios: dict[str, str], record: SceneRecord | None = None
    ) -> SceneReport:
        """Map one item's record (the one just stored, else the store's) and write it back."""
        record = record or self.store.get(self.key(scene.id), tagset.model_id)
        if record is None:
            return SceneReport(scene.id, "skipped", error="not tagged yet")
        result = tagset.map(record, list(studios))
        if result.error:  # a rule loop: change nothing on the scene
            self.log("e", f"{self.kind} {scene.id}: {result.error}")
            return SceneReport(scene.id, "error", error=result.error)
        try:
            return self.writer.apply(scene, result, studios)
        except StashError as exc:
            self.log("e", f"{self.kind} {scene.id}: {exc}")
            return SceneReport(scene.id, "error", error=str(exc))

    def duplicates(self, tag_name: str):
        """Find duplicate pairs in the store and tag both scenes of each with ``tag_name``."""
        from stashtag_client.tagging.similarity import find_duplicates

        # the store also holds images ("image:6") and files tagged outside Stash
        pairs = find_duplicates(self.store, self.store_model_id(), keep=str.isdigit)
        if pairs and not self.settings.dry_run:
            for d in pairs:
                self.add_own_tag([d.a, d.b], tag_name)
        return pairs

    def add_own_tag(self, scene_ids: list[str], tag_name: str) -> str:
        """Add stashtag's tag ``tag_name`` to scenes, recorded so undo takes it away again."""
        tag = self.tags.get(tag_name, self.parent)
        for sid in scene_ids:
            self.ledger.record(sid, {tag})
        self.client.update_scene_tags(scene_ids, [tag], "ADD")
        for sid in scene_ids:
            self.ledger.confirm(sid, {tag})
        return tag

    def missing_sprites(self, scenes: Chosen) -> list[str]:
        return [s.id for s in scenes if not s.sprite_url or self.client.fetch(s.sprite_url) is None]


def run_sync(
    sync: StashSync,
    selection: str,
    force: bool = False,
    progress: Callable[[float], None] | None = None,
) -> list[SceneReport]:
    return asyncio.run(sync.run(sync.scenes(selection), force, progress))
