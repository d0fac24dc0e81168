"""The embedding store: what the server returned for each scene, kept in SQLite (WAL).

Rows are keyed by scene key and model id (the server's ``tagger`` ``model_id``), so outputs of
different weights never mix. Embeddings are stored as float16. A scene already stored is not sent
again (resume after Ctrl-C or a crash), and retagging reads everything back with no inference.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stashtag_client.scene_index import index_row
from stashtag_client.store_schema import migrate


@dataclass(frozen=True)
class Detected:
    """One extra detector's answer for a scene (``content``: NudeNet's classes)."""

    classes: tuple[str, ...]  # class names, in the detector's order
    frames: list[np.ndarray]  # per frame (K, 6): x1 y1 x2 y2 score class index

    def as_json(self) -> dict:
        return {"classes": list(self.classes), "frames": [d.tolist() for d in self.frames]}

    @classmethod
    def from_json(cls, data: dict) -> Detected:
        frames = [np.array(d, np.float32).reshape(-1, 6) for d in data["frames"]]
        return cls(tuple(data["classes"]), frames)


@dataclass
class SceneRecord:
    """Everything the server returned for one scene."""

    scene: str
    model_id: str
    source: str
    time_basis: str
    times: np.ndarray  # (N,) seconds
    clip: np.ndarray  # (N, D) unit vectors
    dino_cls: np.ndarray  # (N, E)
    dino_patch: np.ndarray  # (N, E)
    detections: list[np.ndarray]  # per frame (K, 6)
    ocr: list[dict] = field(default_factory=list)  # {frame, text, score, box}
    ocr_error: str = ""  # why OCR failed, when it did (the other results stand)
    detected: dict[str, Detected] = field(default_factory=dict)  # extra detectors by name
    # per-model frame budgets: the frames a model saw where it saw only some (``yolo``:
    # ``detections``' rows, ``dino``: ``dino_cls``/``dino_patch``'s, a detector's name); a model
    # not named saw every frame
    seen: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return len(self.times)

    def frames_of(self, model: str) -> np.ndarray:
        """The frame indices ``model``'s rows stand for."""
        return self.seen[model] if model in self.seen else np.arange(self.frames)

    def covers(self, needs: dict[str, np.ndarray]) -> bool:
        """Whether every model saw at least the frames ``needs`` lists for it."""
        return all(np.isin(frames, self.frames_of(model)).all() for model, frames in needs.items())


def _blob(a: np.ndarray, dtype) -> bytes:
    return np.ascontiguousarray(a, dtype=dtype).tobytes()


class Store:
    """SQLite-backed store; one connection, used from one thread (the event loop's)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        migrate(self.db, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has(self, scene: str, model_id: str, needs: Callable[[int], dict] | None = None) -> bool:
        """Whether ``scene`` is stored; with ``needs`` (frame count → {model: frames}), only
        if each model saw those frames (a run with a larger frame budget fills the gaps)."""
        row = self.db.execute(
            "SELECT frames, seen FROM scenes WHERE scene = ? AND model_id = ?", (scene, model_id)
        ).fetchone()
        if row is None or needs is None:
            return row is not None
        frames, seen = row
        everything = np.arange(frames)
        saw = {k: np.asarray(v, np.int64) for k, v in json.loads(seen).items()}
        return all(
            np.isin(want, saw.get(model, everything)).all() for model, want in needs(frames).items()
        )

    def put(self, r: SceneRecord) -> SceneRecord:
        """Store one scene atomically (and clear an earlier error for it); return the record
        as the store holds it (embeddings in float16), decoded from what was written, so the
        caller maps exactly what a later :meth:`get` would give without reading it back."""
        dets = [d.tolist() for d in r.detections]
        row = (
            r.scene,
            r.model_id,
            r.source,
            r.time_basis,
            r.frames,
            _blob(r.times, np.float64),
            _blob(r.clip, np.float16),
            _blob(r.dino_cls, np.float16),
            _blob(r.dino_patch, np.float16),
            json.dumps(dets),
            json.dumps(r.ocr),
            time.time(),
            r.ocr_error,
            json.dumps({k: d.as_json() for k, d in r.detected.items()}),
            json.dumps({k: np.asarray(v).tolist() for k, v in r.seen.items()}),
        )
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO scenes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row
            )
            if r.frames:
                self.db.execute(
                    "INSERT OR REPLACE INTO scene_index VALUES (?,?,?,?,?)",
                    (r.scene, r.model_id, *index_row(r.clip, r.dino_cls)),
                )
            self.db.execute(
                "DELETE FROM errors WHERE scene = ? AND model_id = ?", (r.scene, r.model_id)
            )
        return _record(row)

    def put_error(self, scene: str, model_id: str, message: str) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO errors VALUES (?,?,?,?)",
                (scene, model_id, message, time.time()),
            )

    def errors(self, model_id: str) -> dict[str, str]:
        rows = self.db.execute("SELECT scene, message FROM errors WHERE model_id = ?", (model_id,))
        return dict(rows.fetchall())

    def get(self, scene: str, model_id: str) -> SceneRecord | None:
        row = self.db.execute(
            "SELECT * FROM scenes WHERE scene = ? AND model_id = ?", (scene, model_id)
        ).fetchone()
        return _record(row) if row else None

    def records(self, model_id: str) -> Iterator[SceneRecord]:
        rows = self.db.execute(
            "SELECT * FROM scenes WHERE model_id = ? ORDER BY scene", (model_id,)
        )
        for row in rows:
            yield _record(row)

    def count(self, model_id: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM scenes WHERE model_id = ?", (model_id,)
        ).fetchone()[0]

    def model_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT model_id FROM scenes")]

    def latest_model_id(self) -> str | None:
        """The model id of the most recently stored scene (the server's, as last tagged)."""
        row = self.db.execute("SELECT model_id FROM scenes ORDER BY updated DESC LIMIT 1")
        found = row.fetchone()
        return found[0] if found else None

    def index_reps(self, model_id: str) -> tuple[list[str], list[int], np.ndarray]:
        """(scenes, representatives per scene, their unit CLIP vectors' fp16 bytes as one
        uint8 array of a row per vector). Rows are copied straight into that array: at 10k
        scenes it is ~160 MB, read on every search, so no intermediate copies."""
        where = "FROM scene_index WHERE model_id = ?"
        total, size = self.db.execute(
            f"SELECT sum(rep_count), max(length(reps) / rep_count) {where}", (model_id,)
        ).fetchone()
        if not total:
            return [], [], np.zeros((0, 0), np.uint8)
        codes = np.empty((total, size), np.uint8)
        flat = codes.reshape(-1)
        scenes, counts, at = [], [], 0
        for scene, count, reps in self.db.execute(
            f"SELECT scene, rep_count, reps {where}", (model_id,)
        ):
            flat[at : at + len(reps)] = np.frombuffer(reps, np.uint8)
            at += len(reps)
            scenes.append(scene)
            counts.append(count)
        return scenes, counts, codes

    def scene_vectors(self, model_id: str) -> tuple[list[str], np.ndarray]:
        """(scenes, their DINOv2 scene vectors) from the scene index, ordered by scene (scenes
        tagged with no DINOv2 frames have none)."""
        rows = self.db.execute(
            "SELECT scene, dino FROM scene_index WHERE model_id = ? AND length(dino) > 0"
            " ORDER BY scene",
            (model_id,),
        ).fetchall()
        if not rows:
            return [], np.zeros((0, 1), np.float32)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(len(rows), -1)
        return [r[0] for r in rows], vectors.astype(np.float32)

    def clip_frames(self, model_id: str, scenes: list[str]) -> dict[str, tuple]:
        """{scene: (times, clip frames)} for ``scenes`` (the rest of a record is not read)."""
        out = {}
        for start in range(0, len(scenes), 500):  # under SQLite's bound-parameter limit
            chunk = scenes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT scene, frames, times, clip FROM scenes WHERE model_id = ? "
                f"AND scene IN ({marks})",
                (model_id, *chunk),
            )
            for scene, n, times, clip in rows:
                clip = np.frombuffer(clip, np.float16).reshape(n, -1).astype(np.float32)
                out[scene] = (np.frombuffer(times, np.float64), clip)
        return out

    def set_meta(self, model_id: str, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?,?,?)", (model_id, key, value))

    def meta(self, model_id: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM meta WHERE model_id = ? AND key = ?", (model_id, key)
        ).fetchone()
        return row[0] if row else None

    def cached_text(self, model_id: str, prompts: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for prompt in prompts:
            row = self.db.execute(
                "SELECT embedding FROM text_cache WHERE model_id = ? AND prompt = ?",
                (model_id, prompt),
            ).fetchone()
            if row:
                out[prompt] = np.frombuffer(row[0], np.float32)
        return out

    def cache_text(self, model_id: str, embeddings: dict[str, np.ndarray]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO text_cache VALUES (?,?,?)",
                [(model_id, p, _blob(e, np.float32)) for p, e in embeddings.items()],
            )


def _record(row: tuple) -> SceneRecord:
    (scene, model_id, source, basis, n, times, clip, dcls, dpatch, dets, ocr, _, ocr_error, det,
     seen) = row  # fmt: skip
    seen = {k: np.asarray(v, np.int64) for k, v in json.loads(seen).items()}

    def mat(blob: bytes, model: str = "clip") -> np.ndarray:
        rows = len(seen[model]) if model in seen else n
        if rows == 0:
            return np.zeros((0, 0), np.float32)
        return np.frombuffer(blob, np.float16).reshape(rows, -1).astype(np.float32)

    return SceneRecord(
        scene=scene,
        model_id=model_id,
        source=source,
        time_basis=basis,
        times=np.frombuffer(times, np.float64),
        clip=mat(clip),
        dino_cls=mat(dcls, "dino"),
        dino_patch=mat(dpatch, "dino"),
        detections=[np.array(d, np.float32).reshape(-1, 6) for d in json.loads(dets)],
        ocr=json.loads(ocr),
        ocr_error=ocr_error,
        detected={k: Detected.from_json(v) for k, v in json.loads(det).items()},
        seen=seen,
    )
