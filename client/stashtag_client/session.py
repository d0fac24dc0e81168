"""One tagging session, the same in directory mode and Stash mode.

A session opens the endpoint pool, asks the servers for their ``model_id``, builds the tag set
(vocabulary with calibrated thresholds, learned tags, CLIP text bank) and sends scenes through a
:class:`TagRun` that stores each one as it is answered. :class:`TagSet` alone (no server) is what
``retag`` uses: everything comes from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from stashtag_client.frames.sources import SceneSource
from stashtag_client.inference.budget import FrameBudget, parse_budget
from stashtag_client.inference.pipeline import (
    SceneOutcome,
    TagRun,
    server_detectors,
    server_model_id,
    server_takes_frame_lists,
)
from stashtag_client.inference.transport import EndpointPool
from stashtag_client.store import SceneRecord, Store
from stashtag_client.tagging.learned import LearnedTag
from stashtag_client.tagging.mapping import SceneResult, TextBank, map_scene
from stashtag_client.tagging.textbank import cached_text_bank, fetch_text_bank
from stashtag_client.tagging.thresholds import effective_tags
from stashtag_client.tagging.vocabulary import Vocabulary


@dataclass(frozen=True)
class TagSet:
    """What turns a stored scene into tags for one model id."""

    model_id: str
    vocab: Vocabulary  # with the store's calibrated thresholds
    learned: list[LearnedTag]
    bank: TextBank

    @classmethod
    def from_store(cls, store: Store, model_id: str, vocab: Vocabulary) -> TagSet:
        """From the store alone (cached prompt embeddings): no server needed."""
        vocab, learned = effective_tags(store, model_id, vocab)
        return cls(model_id, vocab, learned, cached_text_bank(store, model_id, vocab))

    def map(self, record: SceneRecord, studios: Sequence[str] | None = None) -> SceneResult:
        return map_scene(record, self.vocab, self.bank, list(studios or []), self.learned)


class TaggingSession:
    """``async with TaggingSession(...) as s``: the pool is open and :attr:`tagset` is built."""

    def __init__(
        self,
        store: Store,
        vocab: Vocabulary,
        pool: EndpointPool,
        frame_budget: str = "auto",
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        """``pool``: not open yet (the session opens and closes it); ``frame_budget``: see
        :func:`~stashtag_client.inference.budget.parse_budget`; ``on_event``: told of what a
        user should know (detectors the server lacks)."""
        self.store, self.vocab, self.frame_budget = store, vocab, frame_budget
        self.on_event = on_event
        self.pool = pool
        self._opened = False
        self.tagset: TagSet | None = None
        self.detectors: dict[str, tuple[str, ...]] = {}  # the server's extra detectors
        self.budget: FrameBudget | None = None  # None: every model on every frame

    async def __aenter__(self) -> TaggingSession:
        pool = self.pool
        assert not self._opened, "a session is entered once"
        await pool.__aenter__()
        self._opened = True
        try:
            model_id = await server_model_id(pool)
            self.detectors = await server_detectors(pool)
            self._warn_unserved_detectors()
            budget = parse_budget(self.frame_budget, self.detectors)
            if budget is not None and not await server_takes_frame_lists(pool):
                budget = None  # an older server, or --device-resize: every frame it is
            self.budget = budget
            vocab, learned = effective_tags(self.store, model_id, self.vocab)
            bank = await fetch_text_bank(pool, self.store, model_id, vocab)
        except BaseException as exc:
            await pool.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self.tagset = TagSet(model_id, vocab, learned, bank)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._opened:
            await self.pool.__aexit__(*exc)

    async def tag(
        self,
        sources: Iterable[SceneSource],
        force: bool = False,
        ocr_frames: str = "ends:4",
        on_done: Callable[[SceneOutcome], None] | None = None,
        collect: bool = True,
    ) -> list[SceneOutcome]:
        """Send every source not stored yet (all with ``force``); each is stored as answered.
        ``collect=False``: outcomes go to ``on_done`` only (memory flat for any library)."""
        assert self._opened and self.tagset is not None, "use `async with`"
        run = TagRun(
            self.pool,
            self.store,
            self.tagset.model_id,
            ocr_frames,
            on_done,
            self.detectors,
            self.budget,
        )
        return await run.run(sources, force, collect)

    def _warn_unserved_detectors(self) -> None:
        """Vocabulary rules for a detector the server lacks never fire: say so once."""
        wanted = {r.detector for r in self.vocab.detections if r.detector != "yolo"}
        for name in sorted(wanted - set(self.detectors)):
            if self.on_event:
                self.on_event(
                    f"the vocabulary has rules for detector {name!r}, which the server does not"
                    f" run: they are skipped (build the repository with --detector {name})"
                )

    def status(self) -> list[dict]:
        return self.pool.status() if self._opened else []
