"""The store's schema and the migrations between its versions.

Every table is created here except the scene index, whose table and rows belong with the code
that reads them (:mod:`stashtag_client.scene_index`; its migration is here).

The version lives in the database itself (SQLite's ``user_version``). Opening an older store
runs the missing migrations in one transaction each; a store written by a newer stashtag is
refused rather than guessed at. Version 0 is every store written before versions existed: its
tables were created on first use, so migration 1 creates whichever of them are missing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from stashtag_core.errors import StashtagError

TABLES_V1 = """
CREATE TABLE IF NOT EXISTS scenes (
    scene TEXT NOT NULL,
    model_id TEXT NOT NULL,
    source TEXT NOT NULL,
    time_basis TEXT NOT NULL,
    frames INTEGER NOT NULL,
    times BLOB NOT NULL,          -- float64 (N,)
    clip BLOB NOT NULL,           -- float16 (N, D)
    dino_cls BLOB NOT NULL,       -- float16 (N, E)
    dino_patch BLOB NOT NULL,     -- float16 (N, E)
    detections TEXT NOT NULL,     -- JSON: per frame [[x1, y1, x2, y2, score, class], ...]
    ocr TEXT NOT NULL,            -- JSON: [{frame, text, score, box}]
    updated REAL NOT NULL,
    PRIMARY KEY (scene, model_id)
);
CREATE TABLE IF NOT EXISTS errors (
    scene TEXT NOT NULL,
    model_id TEXT NOT NULL,
    message TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (scene, model_id)
);
CREATE TABLE IF NOT EXISTS meta (
    model_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);
CREATE TABLE IF NOT EXISTS text_cache (
    model_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    embedding BLOB NOT NULL,      -- float32 (D,)
    PRIMARY KEY (model_id, prompt)
);
-- tags learned from the user's own tagging (stashtag learn)
CREATE TABLE IF NOT EXISTS learned_tags (
    model_id TEXT NOT NULL,
    name TEXT NOT NULL,
    weights BLOB NOT NULL,        -- float32 (F,): over concat(unit CLIP, unit DINOv2 cls)
    bias REAL NOT NULL,
    threshold REAL NOT NULL,      -- on the scene score (mean of the top_k frame probabilities)
    top_k INTEGER NOT NULL,
    parent TEXT,
    metrics TEXT NOT NULL,        -- JSON: cross-validated precision/recall, example counts
    created REAL NOT NULL,
    PRIMARY KEY (model_id, name)
);
-- per-tag thresholds from the user's kept and removed tags (stashtag calibrate)
CREATE TABLE IF NOT EXISTS tag_thresholds (
    model_id TEXT NOT NULL,
    name TEXT NOT NULL,
    threshold REAL NOT NULL,
    previous REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (model_id, name)
);
-- what stashtag did to each Stash instance (see stash/ledger.py)
CREATE TABLE IF NOT EXISTS stash_applied (
    stash TEXT NOT NULL, scene_id TEXT NOT NULL, tag_id TEXT NOT NULL,
    PRIMARY KEY (stash, scene_id, tag_id)
);
CREATE TABLE IF NOT EXISTS stash_feedback (
    stash TEXT NOT NULL, scene_id TEXT NOT NULL, tags TEXT NOT NULL,
    PRIMARY KEY (stash, scene_id)
);
-- tags recorded as applied whose ADD has not been confirmed yet (a crash in between must not
-- read as the user removing them)
CREATE TABLE IF NOT EXISTS stash_pending (
    stash TEXT NOT NULL, scene_id TEXT NOT NULL, tag_id TEXT NOT NULL,
    PRIMARY KEY (stash, scene_id, tag_id)
);
-- a scene's tags before `overwrite` first replaced them (`undo` restores them)
CREATE TABLE IF NOT EXISTS stash_saved (
    stash TEXT NOT NULL, scene_id TEXT NOT NULL, tag_ids TEXT NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (stash, scene_id)
);
-- accept/reject decisions on review suggestions (feedback)
CREATE TABLE IF NOT EXISTS stash_review (
    stash TEXT NOT NULL, scene_id TEXT NOT NULL, tag TEXT NOT NULL, accepted INTEGER NOT NULL,
    updated REAL NOT NULL, PRIMARY KEY (stash, scene_id, tag)
);
-- tags stashtag added that the user removed: never added again, negatives for learn/calibrate
CREATE TABLE IF NOT EXISTS stash_rejected (
    stash TEXT NOT NULL, scene_id TEXT NOT NULL, tag_id TEXT NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (stash, scene_id, tag_id)
);
"""

# Version 2: a scene whose OCR failed keeps its other results, with the OCR error beside them.
OCR_ERROR_V2 = "ALTER TABLE scenes ADD COLUMN ocr_error TEXT NOT NULL DEFAULT '';"


def canonical_keys_v3(db: sqlite3.Connection) -> None:
    """Version 3: file scenes are keyed by their resolved path (or a Stash-named sprite's hash),
    so any spelling of a path resumes. Keys are rewritten where the file is found (relative
    ones from the working directory); where two spellings of one scene were both stored, the
    newer record stays."""
    from stashtag_client.frames.discovery import legacy_key_to_canonical

    for table in ("scenes", "errors"):
        groups: dict[tuple[str, str], list[tuple[float, str]]] = {}
        for scene, model_id, updated in db.execute(f"SELECT scene, model_id, updated FROM {table}"):
            key = (legacy_key_to_canonical(scene), model_id)
            groups.setdefault(key, []).append((updated, scene))
        for (canonical, model_id), rows in groups.items():
            rows.sort(reverse=True)
            for _updated, scene in rows[1:]:
                db.execute(
                    f"DELETE FROM {table} WHERE scene = ? AND model_id = ?", (scene, model_id)
                )
            if rows[0][1] != canonical:
                db.execute(
                    f"UPDATE {table} SET scene = ? WHERE scene = ? AND model_id = ?",
                    (canonical, rows[0][1], model_id),
                )


# Version 4: extra detectors' answers (``repo build --detector``), JSON by detector name.
DETECTED_V4 = "ALTER TABLE scenes ADD COLUMN detected TEXT NOT NULL DEFAULT '{}';"


def scene_index_v5(db: sqlite3.Connection) -> None:
    """Version 5: the scene index (representative CLIP frames, DINOv2 scene vectors) that
    search and similar scenes read; filled from the stored records."""
    from stashtag_client.scene_index import INDEX_TABLE, fill_index

    db.execute(INDEX_TABLE)
    fill_index(db)


# Version 6: the web UI asks for the latest tagged model on every call; without an index that
# is a scan of every record (0.6 s on 10k scenes).
SCENES_UPDATED_V6 = "CREATE INDEX IF NOT EXISTS scenes_updated ON scenes(updated);"

# Version 7: per-model frame budgets: JSON {model: [frame indices]} of the models that saw only
# some frames (``yolo``, ``dino``, a detector's name; absent: every frame).
SEEN_V7 = "ALTER TABLE scenes ADD COLUMN seen TEXT NOT NULL DEFAULT '{}';"

# Version 8: the Stash instances met, by the id each keeps in its plugin settings (the ledger's
# rows carry it; see stashtag_client.stash.instance).
INSTANCES_V8 = """
CREATE TABLE IF NOT EXISTS stash_instances (
    instance TEXT PRIMARY KEY, url TEXT NOT NULL, seen REAL NOT NULL
);
"""

Migration = str | Callable[[sqlite3.Connection], None]

# MIGRATIONS[i] takes a store from version i to i + 1. Append; never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (
    TABLES_V1,
    OCR_ERROR_V2,
    canonical_keys_v3,
    DETECTED_V4,
    scene_index_v5,
    SCENES_UPDATED_V6,
    SEEN_V7,
    INSTANCES_V8,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreVersionError(StashtagError):
    """The store was written by a newer stashtag than this one."""


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit mid-transaction)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in current.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement in a migration: {current.strip()[:80]!r}")
    return out


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _refuse_newer(found: int, path: Path | str) -> None:
    if found > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path}: store schema version {found} was written by a newer stashtag (this one"
            f" knows up to {SCHEMA_VERSION}); upgrade stashtag or use another store"
        )


def migrate(db: sqlite3.Connection, path: Path | str) -> int:
    """Bring ``db`` to :data:`SCHEMA_VERSION`; return the version it had."""
    found = schema_version(db)
    _refuse_newer(found, path)
    while True:
        # One write transaction per step, the version read inside it: a crash leaves the store
        # at a version, and two processes opening one store never run a step twice.
        db.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)
            _refuse_newer(version, path)
            if version == SCHEMA_VERSION:
                db.execute("COMMIT")
                return found
            step = MIGRATIONS[version]
            if callable(step):
                step(db)
            else:
                for statement in _statements(step):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
