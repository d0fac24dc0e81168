"""The async tagging run: load scenes, send them through Triton, store what comes back.

Scenes are loaded in worker threads (file reads, video decoding) while many requests are in
flight; the server's dynamic batcher merges the frames of concurrent scenes into shared
executions. Each scene ends as ``stored``, ``skipped`` (already in the store) or ``error`` with a
reason naming the file; an error never stops the run and nothing stored is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from stashtag_client.frames.scene_frames import SceneFrames
from stashtag_client.frames.sources import SceneSource
from stashtag_client.inference.budget import FrameBudget
from stashtag_client.inference.transport import EndpointPool, RequestError
from stashtag_client.inference.triton import frame_lists, tagger_outputs, unpack_tagger
from stashtag_client.store import Detected, SceneRecord, Store
from stashtag_core.errors import StashtagError, describe
from stashtag_core.modelspec import OCR, TAGGER
from stashtag_core.modelspec.params import TaggerParams


@dataclass(frozen=True)
class SceneOutcome:
    scene: str
    status: str  # "stored", "skipped" or "error"
    frames: int = 0
    error: str = ""
    warning: str = ""  # stored, but part of it failed (OCR)
    # what was just stored, carried on to mapping and writing (None: skipped or failed; a
    # skipped scene's record is the store's)
    record: SceneRecord | None = field(default=None, repr=False, compare=False)


def ocr_subset(frames: int, policy: str) -> np.ndarray:
    """Frame indices OCR runs on: ``none``, ``all``, or ``ends:K`` (first and last K frames,
    where studio watermarks and intro cards sit)."""
    if policy == "none":
        return np.zeros(0, np.int64)
    if policy == "all":
        return np.arange(frames)
    kind, _, k = policy.partition(":")
    if kind != "ends" or not k.isdigit():
        raise ValueError(f"OCR frame policy {policy!r}: use none, all or ends:K")
    n = int(k)
    return np.unique(
        np.concatenate([np.arange(min(n, frames)), np.arange(max(0, frames - n), frames)])
    )


async def _agreed(pool: EndpointPool, name: str, what: str):
    """Field ``name`` of the :class:`TaggerParams` every healthy endpoint serves; they must
    agree."""
    served = await pool.parameters(TAGGER.model)
    try:
        found = {
            url: getattr(TaggerParams.decode(p, TAGGER.model), name) for url, p in served.items()
        }
    except ValueError as exc:
        raise StashtagError(f"the server's {exc}") from None
    if len({repr(v) for v in found.values()}) > 1:
        raise StashtagError(f"endpoints serve different {what}, results would mix: {found}")
    return next(iter(found.values()), getattr(TaggerParams(), name))


async def server_model_id(pool: EndpointPool) -> str:
    """The ``model_id`` of the ``tagger`` all healthy endpoints serve; they must agree."""
    return await _agreed(pool, "model_id", "models")


async def server_takes_frame_lists(pool: EndpointPool) -> bool:
    """Whether the ``tagger`` takes per-model frame lists (older servers and
    ``--device-resize`` repositories run every model on every frame)."""
    return await _agreed(pool, "frame_lists", "frame lists")


async def server_detectors(pool: EndpointPool) -> dict[str, tuple[str, ...]]:
    """The extra detectors the ``tagger`` serves (``repo build --detector``) with their class
    names; the endpoints must agree."""
    return await _agreed(pool, "detectors", "detectors")


class TagRun:
    """Send scenes to the server and store the results."""

    def __init__(
        self,
        pool: EndpointPool,
        store: Store,
        model_id: str,
        ocr_frames: str = "ends:4",
        on_done: Callable[[SceneOutcome], None] | None = None,
        detectors: dict[str, tuple[str, ...]] | None = None,
        budget: FrameBudget | None = None,
    ) -> None:
        """``budget``: the frames each model sees (None: every model every frame; only for a
        server that takes frame lists)."""
        ocr_subset(1, ocr_frames)  # validate early
        self.pool, self.store, self.model_id = pool, store, model_id
        self.detectors = detectors or {}
        self.budget = budget
        self.ocr_frames = ocr_frames
        self.on_done = on_done or (lambda _o: None)

    async def _infer_scene(self, f: SceneFrames) -> SceneRecord:
        jpeg, rects = np.frombuffer(f.image, np.uint8), np.asarray(f.rects, np.int32)
        lists = self.budget.lists(f.frames) if self.budget else {}
        outputs = tagger_outputs(list(self.detectors), lists)
        feed = {**TAGGER.feed(jpeg, rects), **frame_lists(lists)}
        # the tagger's request is on its way while OCR's frames are found (a video decoded)
        tag_call = asyncio.ensure_future(self.pool.infer(TAGGER.model, feed, outputs))
        subset = ocr_subset(f.frames, self.ocr_frames)
        views: list = []
        ocr_error = ""
        try:
            if len(subset):
                views, ocr_error = await asyncio.to_thread(f.ocr_views, subset)
        except BaseException:
            tag_call.cancel()
            raise
        calls = [
            self.pool.infer(
                OCR.model, OCR.feed(np.frombuffer(v.image, np.uint8), v.rects), OCR.outputs
            )
            for v in views
        ]
        out, *ocr = await asyncio.gather(tag_call, *calls, return_exceptions=True)
        if isinstance(out, BaseException):
            raise out
        clip, dino_cls, dino_patch, detections, detected = unpack_tagger(out, self.detectors)
        for model, want in (("clip", clip), ("dino", dino_cls), ("yolo", detections)):
            listed = len(lists[model]) if model in lists else f.frames
            if len(want) != listed:
                raise RequestError(f"server returned {len(want)} {model} frames for {listed} asked")
        lines, failed = [], []
        for view, answer in zip(views, ocr, strict=True):
            if isinstance(answer, RequestError):  # the scene keeps its tags and other text
                failed.append(f"OCR of the {view.source} failed: {answer}")
                continue
            if isinstance(answer, BaseException):
                raise answer
            for text, score, box, idx in zip(*OCR.unpack(answer), strict=True):
                lines.append(
                    {
                        "frame": int(view.frames[int(idx)]),
                        "text": text.decode("utf-8", errors="replace"),
                        "score": round(float(score), 4),
                        "box": np.asarray(box).round(1).tolist(),
                        "source": view.source,
                    }
                )
        ocr_error = "; ".join([*failed, ocr_error] if ocr_error else failed)
        return SceneRecord(
            scene=f.scene,
            model_id=self.model_id,
            source=f.source,
            time_basis=f.time_basis,
            times=f.times,
            clip=clip,
            dino_cls=dino_cls,
            dino_patch=dino_patch,
            detections=detections,
            ocr=lines,
            ocr_error=ocr_error,
            detected={
                name: Detected(classes, detected[name])
                for name, classes in self.detectors.items()
                if len(lists.get(name, (0,)))
            },
            seen={m: np.asarray(idx, np.int64) for m, idx in lists.items()},
        )

    async def process(self, source: SceneSource, force: bool = False) -> SceneOutcome:
        # a scene stored with fewer frames for a model than this run's budget is sent again
        needs = self.budget.needs if self.budget else None
        if not force and self.store.has(source.scene, self.model_id, needs):
            return SceneOutcome(source.scene, "skipped")
        try:
            frames = await asyncio.to_thread(source.load)
            record = await self._infer_scene(frames)
        except Exception as exc:  # any failure is this scene's alone
            return self._failed(source, describe(exc))
        stored = self.store.put(record)
        warning = f"{source.path}: {record.ocr_error}" if record.ocr_error else ""
        return SceneOutcome(
            source.scene, "stored", frames=record.frames, warning=warning, record=stored
        )

    def _failed(self, source: SceneSource, message: str) -> SceneOutcome:
        named = message.startswith(str(source.path.parent)) or source.path.name in message
        message = message if named else f"{source.path}: {message}"
        self.store.put_error(source.scene, self.model_id, message)
        return SceneOutcome(source.scene, "error", error=message)

    async def run(
        self, sources: Iterable[SceneSource], force: bool = False, collect: bool = True
    ) -> list[SceneOutcome]:
        """Process every source with up to twice the pool's in-flight limit being worked on
        (loading overlaps inference); outcomes in completion order (none kept unless
        ``collect``: ``on_done`` sees each)."""
        limit = asyncio.Semaphore(self.pool.max_in_flight * 2)
        outcomes: list[SceneOutcome] = []

        async def one(src: SceneSource) -> None:
            try:
                outcome = await self.process(src, force)
            finally:
                limit.release()
            if collect:
                outcomes.append(outcome)
            self.on_done(outcome)

        running: set[asyncio.Task] = set()  # finished tasks leave: memory stays flat
        try:
            for src in sources:
                await limit.acquire()
                task = asyncio.create_task(one(src))
                running.add(task)
                task.add_done_callback(running.discard)
            await asyncio.gather(*running)
        finally:
            for task in running:  # the source iterator or a write-back failed: stop the rest
                task.cancel()
        return outcomes
