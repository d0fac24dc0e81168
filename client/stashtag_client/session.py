"""One tagging session, the same in directory mode and Stash mode.

A session opens the endpoint pool, asks the servers for their ``model_id``, builds the tag set
(vocabulary with calibrated thresholds, learned tags, CLIP text bank) and sends scenes through a
:class:`TagRun` that stores each one as it is answered. :class:`TagSet` alone (no server) is what
``retag`` uses: everything comes from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from stashtag_client.frames.sources import SceneSource
from stashtag_client.inference.budget import FrameBudget, parse_budget
from stashtag_client.inference.pipeline import (
    SceneOutcome,
    TagRun,
    server_detectors,
    server_model_id,
    server_takes_frame_lists,
)
from stashtag_client.inference.transport import (
    EndpointPool,
    RetryPolicy,
    ServerAccess,
    parse_endpoints,
)
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


@dataclass(frozen=True)
class SessionOptions:
    endpoints: str = "127.0.0.1:8001"  # "host:port[=weight]", comma-separated
    max_in_flight: int = 16
    timeout_s: float = 600.0  # per request at first (doubled while the server is busy)
    attempts: int = 6
    access: ServerAccess = field(default_factory=ServerAccess)
    frame_budget: str = "auto"  # see inference/budget.py parse_budget


class TaggingSession:
    """``async with TaggingSession(...) as s``: the pool is open and :attr:`tagset` is built."""

    def __init__(
        self,
        store: Store,
        vocab: Vocabulary,
        options: SessionOptions,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        """``on_event``: told when an endpoint is taken out or comes back."""
        self.store, self.vocab, self.options = store, vocab, options
        self.on_event = on_event
        self.pool: EndpointPool | None = None
        self.tagset: TagSet | None = None
        self.detectors: dict[str, tuple[str, ...]] = {}  # the server's extra detectors
        self.budget: FrameBudget | None = None  # None: every model on every frame

    async def __aenter__(self) -> TaggingSession:
        o = self.options
        policy = RetryPolicy(attempts=o.attempts, timeout_s=o.timeout_s)
        pool = EndpointPool(
            parse_endpoints(o.endpoints), o.max_in_flight, policy, o.access, self.on_event
        )
        await pool.__aenter__()
        self.pool = pool
        try:
            model_id = await server_model_id(pool)
            self.detectors = await server_detectors(pool)
            self._warn_unserved_detectors()
            budget = parse_budget(o.frame_budget, self.detectors)
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
        if self.pool is not None:
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
        assert self.pool is not None and self.tagset is not None, "use `async with`"
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
        return self.pool.status() if self.pool is not None else []
