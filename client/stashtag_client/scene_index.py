"""The scene index: a few bytes per scene that search, similar scenes and duplicates read
instead of every stored record.

A 10k-scene store of the small preset holds ~830 MB of per-frame CLIP vectors alone; reading
them all per question is far too slow for a search box. Each stored scene therefore also keeps
(in the store's ``scene_index`` table, written with the record):

- **representatives**: at most :data:`MAX_REPS` unit CLIP vectors standing for its frames (see
  :func:`representatives`). A text query is scored against these first; the best candidates
  are then re-ranked exactly on all their frames (``tagging/similarity.search``);
- **the scene vector**: the normalised mean of its DINOv2 CLS frames, for similar scenes and
  duplicate candidates.
"""

from __future__ import annotations

import numpy as np

MAX_REPS = 16
COVER = 0.9  # cosine every frame keeps to its nearest representative, where MAX_REPS allows


def normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def scene_vector(frames: np.ndarray) -> np.ndarray:
    """The normalised mean of a scene's normalised frame vectors."""
    return normalize(normalize(frames.astype(np.float32)).mean(axis=0))


def representatives(clip: np.ndarray, max_reps: int = MAX_REPS, cover: float = COVER) -> np.ndarray:
    """(R, D) unit vectors standing for a scene's frames: farthest-point centres until every
    frame is within ``cover`` of one (or ``max_reps``), then the normalised mean of the frames
    nearest each centre — a frame that no centre covers still pulls on one, so a query that
    matches only that frame still ranks the scene as a candidate."""
    unit = normalize(clip.astype(np.float32))
    sims = unit @ unit.T
    centres = [int(sims.sum(axis=1).argmax())]  # the most typical frame first
    nearest = sims[centres[0]].copy()
    while len(centres) < max_reps and nearest.min() < cover:
        far = int(nearest.argmin())
        centres.append(far)
        nearest = np.maximum(nearest, sims[far])
    owner = sims[centres].argmax(axis=0)
    return normalize(np.stack([unit[owner == i].mean(axis=0) for i in range(len(centres))]))


def index_row(clip: np.ndarray, dino_cls: np.ndarray) -> tuple[int, bytes, bytes]:
    """(how many representatives, their vectors fp16, the DINOv2 scene vector fp16; empty for
    a scene tagged with no DINOv2 frames)."""
    reps = representatives(clip)
    dino = scene_vector(dino_cls) if len(dino_cls) else np.zeros(0)
    return (
        len(reps),
        np.ascontiguousarray(reps, np.float16).tobytes(),
        np.ascontiguousarray(dino, np.float16).tobytes(),
    )


INDEX_TABLE = """
CREATE TABLE IF NOT EXISTS scene_index (
    scene TEXT NOT NULL,
    model_id TEXT NOT NULL,
    rep_count INTEGER NOT NULL,   -- R
    reps BLOB NOT NULL,           -- float16 (R, D): unit CLIP vectors standing for its frames
    dino BLOB NOT NULL,           -- float16 (E,): the scene vector
    PRIMARY KEY (scene, model_id)
)"""


def fill_index(db, where: str = "", params: tuple = ()) -> int:
    """(Re)write ``scene_index`` rows from the ``scenes`` rows matching ``where``."""
    rows = db.execute(f"SELECT scene, model_id, frames, clip, dino_cls FROM scenes {where}", params)
    written = 0
    while batch := rows.fetchmany(256):  # a whole store's records would not fit in memory
        db.executemany(
            "INSERT OR REPLACE INTO scene_index VALUES (?,?,?,?,?)",
            [
                (scene, model_id, *index_row(_frames(clip, n), _frames(dino, n)))
                for scene, model_id, n, clip, dino in batch
                if n  # a scene without frames has nothing to index
            ],
        )
        written += len(batch)
    return written


def _frames(blob: bytes, n: int) -> np.ndarray:
    return np.frombuffer(blob, np.float16).reshape(n, -1)
