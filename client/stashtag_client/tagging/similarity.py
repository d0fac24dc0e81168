"""Search, similar scenes and duplicates over the embedding store.

Scene vectors are the normalised mean of a scene's per-frame DINOv2 CLS embeddings (kept in the
store's scene index), indexed with faiss ``IndexFlatIP`` (exact inner product). Measured here on
10k scenes × 384 dims, all-pairs top-10: faiss flat 0.76 s, numpy brute force 4.3 s, usearch
HNSW 2.6 s build + 1.0 s search at 0.79 recall — exact and fastest wins; libraries far past 100k
scenes could move to IVF.

A duplicate candidate (scene cosine over a threshold) is confirmed by **frame alignment**: most
frames of the shorter scene must find a near-identical frame in the other, in the same order —
two different scenes shot in one room share a mean but not a frame sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stashtag_client.scene_index import normalize as _normalize
from stashtag_client.store import SceneRecord, Store

SCENE_THRESHOLD = 0.95  # scene cosine for a duplicate candidate
FRAME_THRESHOLD = 0.9  # frame cosine for a matched frame
MIN_ALIGNED = 0.8  # share of the shorter scene's frames matched in order
RERANK = 10  # candidate scenes re-ranked on all their frames, per result asked for


@dataclass(frozen=True)
class Neighbour:
    scene: str
    score: float  # cosine of scene vectors


@dataclass(frozen=True)
class Duplicate:
    a: str
    b: str
    scene_cosine: float
    aligned: float  # fraction of the shorter scene's frames matched in order
    offset_s: float  # median time shift of matched frames (b − a)


@dataclass(frozen=True)
class SearchHit:
    scene: str
    score: float  # best frame's cosine with the query
    frame: int
    time: float  # seconds of that frame


class SceneIndex:
    """An exact inner-product index of scene vectors."""

    def __init__(self, keys: list[str], vectors: np.ndarray) -> None:
        import faiss

        self.keys = keys
        self.vectors = np.ascontiguousarray(vectors, np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1] if len(keys) else 1)
        if len(keys):
            self.index.add(self.vectors)
        self._pos = {k: i for i, k in enumerate(keys)}

    @classmethod
    def from_store(cls, store: Store, model_id: str) -> SceneIndex:
        return cls(*store.scene_vectors(model_id))

    def similar(self, scene: str, k: int = 10) -> list[Neighbour]:
        if scene not in self._pos:
            raise KeyError(f"scene {scene!r} is not in the store")
        scores, ids = self.index.search(self.vectors[self._pos[scene]][None], k + 1)
        return [
            Neighbour(self.keys[i], round(float(s), 4))
            for s, i in zip(scores[0], ids[0], strict=True)
            if i >= 0 and self.keys[i] != scene
        ][:k]

    def candidate_pairs(self, threshold: float, k: int = 10) -> list[tuple[int, int, float]]:
        """Scene pairs (i < j) whose vectors' cosine reaches ``threshold``."""
        if len(self.keys) < 2:
            return []
        scores, ids = self.index.search(self.vectors, min(k + 1, len(self.keys)))
        pairs = {}
        for i, (row_s, row_i) in enumerate(zip(scores, ids, strict=True)):
            for s, j in zip(row_s, row_i, strict=True):
                if j >= 0 and j != i and s >= threshold:
                    pairs[(min(i, j), max(i, j))] = float(s)
        return [(i, j, s) for (i, j), s in sorted(pairs.items())]


def frame_alignment(
    a: SceneRecord, b: SceneRecord, frame_threshold: float = FRAME_THRESHOLD
) -> tuple[float, float]:
    """(fraction of the shorter scene's frames matched in order, median time offset b − a);
    over the frames DINOv2 saw (per-model frame budgets)."""
    short, long_ = (a, b) if len(a.dino_cls) <= len(b.dino_cls) else (b, a)
    if not len(short.dino_cls):
        return 0.0, 0.0
    sims = _normalize(short.dino_cls) @ _normalize(long_.dino_cls).T
    best = sims.argmax(axis=1)
    good = sims[np.arange(len(best)), best] >= frame_threshold
    if good.sum() == 0:
        return 0.0, 0.0
    matched = best[good]
    in_order = np.concatenate([[True], np.diff(matched) >= 0])  # matches must not run backwards
    aligned = float(in_order.sum()) / len(short.dino_cls)
    short_times, long_times = (r.times[r.frames_of("dino")] for r in (short, long_))
    offsets = long_times[matched] - short_times[np.flatnonzero(good)]
    offset = float(np.median(offsets)) * (1 if short is a else -1)
    return aligned, offset


def find_duplicates(
    store: Store,
    model_id: str,
    scene_threshold: float = SCENE_THRESHOLD,
    frame_threshold: float = FRAME_THRESHOLD,
    min_aligned: float = MIN_ALIGNED,
    keep: Callable[[str], bool] | None = None,
) -> list[Duplicate]:
    """Pairs of scenes that are the same video (re-encodes, trims), confirmed frame by frame;
    ``keep`` picks the store keys that may pair (a Stash's scenes: not its images' keys)."""
    index = SceneIndex.from_store(store, model_id)
    found = []
    for i, j, cosine in index.candidate_pairs(scene_threshold):
        if keep is not None and not (keep(index.keys[i]) and keep(index.keys[j])):
            continue
        a = store.get(index.keys[i], model_id)
        b = store.get(index.keys[j], model_id)
        aligned, offset = frame_alignment(a, b, frame_threshold)
        if aligned >= min_aligned:
            found.append(
                Duplicate(a.scene, b.scene, round(cosine, 4), round(aligned, 3), round(offset, 2))
            )
    return found


def search(
    store: Store,
    model_id: str,
    query: np.ndarray,
    limit: int = 10,
    among: set[str] | None = None,
) -> list[SearchHit]:
    """Scenes ranked by their best frame's CLIP similarity to a query embedding.

    Representative frames (the scene index) pick ``RERANK × limit`` candidates; those are scored
    on all their frames, so a hit's score, frame and time are exact. ``among`` keeps only
    those scenes (a tag or studio filter)."""
    import faiss

    query = _normalize(np.asarray(query, np.float32))
    scenes, counts, codes = store.index_reps(model_id)
    if among is not None:
        keep = np.array([s in among for s in scenes], bool)
        codes = codes[np.repeat(keep, counts)]
        scenes = [s for s, k in zip(scenes, keep, strict=True) if k]
        counts = [c for c, k in zip(counts, keep, strict=True) if k]
    if not scenes:
        return []
    # the fp16 vectors go into faiss as they are stored (no float32 copy of the whole index)
    index = faiss.IndexScalarQuantizer(
        len(query), faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    index.add_sa_codes(codes)
    owner = np.repeat(np.arange(len(scenes)), counts)
    wanted = min(len(scenes), RERANK * limit)
    k = min(index.ntotal, wanted * max(counts))  # enough vectors to reach `wanted` scenes
    _, ids = index.search(query[None], k)
    candidates = [scenes[i] for i in dict.fromkeys(owner[ids[0][ids[0] >= 0]])][:wanted]
    hits = []
    for scene, (times, clip) in store.clip_frames(model_id, candidates).items():
        sims = _normalize(clip) @ query
        best = int(sims.argmax())
        hits.append(SearchHit(scene, round(float(sims[best]), 4), best, float(times[best])))
    hits.sort(key=lambda h: (-h.score, h.scene))
    return hits[:limit]
