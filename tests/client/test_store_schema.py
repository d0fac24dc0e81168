"""The store owns its schema: versioned, migrated on open, refused when newer.

``data/store-v0.db`` was written by the store code before schema versions existed (commit
71553c3): scenes, an error, meta, the text cache, a learned tag, a calibrated threshold and a
Stash ledger.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from stashtag_client import store_schema
from stashtag_client.stash.ledger import TagLedger
from stashtag_client.store import Store
from stashtag_client.store_schema import SCHEMA_VERSION, StoreVersionError, schema_version
from stashtag_client.tagging.learned import load_learned
from stashtag_client.tagging.thresholds import calibrated

V0 = Path(__file__).parent / "data" / "store-v0.db"
MODEL = "tiny-abc"


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_store_from_before_versions_migrates_and_keeps_everything(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(V0, path)
    with sqlite3.connect(path) as db:
        assert schema_version(db) == 0
    with Store(path) as db:
        assert schema_version(db.db) == SCHEMA_VERSION
        record = db.get("/lib/a_sprite.jpg", MODEL)
        assert record is not None and record.frames == 3
        assert record.times.tolist() == [0.0, 5.0, 10.0]
        assert np.allclose(np.linalg.norm(record.clip, axis=1), 1, atol=1e-3)
        assert record.detections[0].tolist() == [[1, 2, 30, 40, pytest.approx(0.9), 0]]
        assert record.ocr[0]["text"] == "STUDIO"
        assert db.errors(MODEL) == {"/lib/bad.jpg": "/lib/bad.jpg: not an image"}
        assert db.meta(MODEL, "clip_dim") == "8"
        assert list(db.cached_text(MODEL, ["a photo of a beach"])) == ["a photo of a beach"]
        (beach,) = load_learned(db, MODEL)
        assert (beach.name, beach.threshold, beach.weights.tolist()) == (
            "Beach",
            0.6,
            list(range(12)),
        )
        assert calibrated(db, MODEL) == {"Outdoors": 0.35}
        ledger = TagLedger(db.db, "http://stash:9999")
        assert ledger.applied("12") == {"7"}
        assert ledger.saved_tags("13") == {"1", "2"}
        assert record.ocr_error == ""  # version 2's column, filled for old rows
        db.put(dataclasses.replace(record, scene="/lib/b_sprite.jpg", ocr_error="OCR failed: x"))
        assert db.get("/lib/b_sprite.jpg", MODEL).ocr_error == "OCR failed: x"


def test_a_new_store_is_at_the_current_version_with_every_table(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        assert schema_version(db) == SCHEMA_VERSION
    # version 1 is exactly what v0 code created on use; version 5 added the scene index,
    # version 8 the Stash instances
    assert _tables(path) == _tables(V0) | {"scene_index", "stash_instances"}


def test_a_store_from_a_newer_stashtag_is_refused_untouched(tmp_path):
    path = tmp_path / "newer.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(
        StoreVersionError, match=rf"{path}: store schema version {SCHEMA_VERSION + 1}"
    ):
        Store(path)
    assert path.read_bytes() == before


def test_a_failing_migration_leaves_the_store_at_its_version(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    shutil.copy(V0, path)
    bad = "CREATE TABLE added (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    monkeypatch.setattr(store_schema, "MIGRATIONS", (*store_schema.MIGRATIONS, bad))
    monkeypatch.setattr(store_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        Store(path)
    with sqlite3.connect(path) as db:
        assert schema_version(db) == SCHEMA_VERSION  # step 1 done, step 2 rolled back whole
    assert "added" not in _tables(path)


def test_several_connections_opening_one_new_store_all_succeed(tmp_path):
    path = tmp_path / "shared.db"
    errors: list[BaseException] = []

    def open_it():
        try:
            Store(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite3.connect(path) as db:
        assert schema_version(db) == SCHEMA_VERSION


V3_COLUMNS = (
    "scene, model_id, source, time_basis, frames, times, clip, dino_cls, dino_patch,"
    " detections, ocr, updated, ocr_error"
)


def test_version_4_adds_extra_detectors_answers(tmp_path):
    """A version-3 store (no ``detected`` column) opens with empty answers for old rows, and
    new rows keep theirs."""
    from stashtag_client.store import Detected

    path = tmp_path / "v3.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE scenes DROP COLUMN detected")
        db.execute("ALTER TABLE scenes DROP COLUMN seen")  # version 7's
        db.execute("PRAGMA user_version = 3")
        times, clip = np.zeros(1).tobytes(), np.zeros((1, 2), np.float16).tobytes()
        db.execute(
            f"INSERT INTO scenes ({V3_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ("old", MODEL, "x", "still", 1, times, clip, clip, clip, "[[]]", "[]", 1.0, ""),
        )
    with Store(path) as db:
        assert schema_version(db.db) == SCHEMA_VERSION
        old = db.get("old", MODEL)
        assert old.detected == {}
        found = Detected(("a", "b"), [np.array([[1, 2, 3, 4, 0.9, 1]], np.float32)])
        db.put(dataclasses.replace(old, scene="new", detected={"mine": found}))
        got = db.get("new", MODEL).detected["mine"]
        assert got.classes == ("a", "b") and got.frames[0].tolist() == found.frames[0].tolist()


def test_version_3_keys_file_scenes_canonically_keeping_the_newest(tmp_path, monkeypatch):
    from stashtag.demo.samples import write_sample

    write_sample(tmp_path / "lib", "movie")
    (tmp_path / "lib" / "clip.mp4").write_bytes(b"video")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "v2.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE scenes DROP COLUMN detected")  # a version-2 store's columns
        db.execute("ALTER TABLE scenes DROP COLUMN seen")
        db.execute("PRAGMA user_version = 2")
        rows = [
            ("lib/movie", 2.0, "relative, newest"),
            (str(tmp_path / "lib" / "movie"), 1.0, "absolute, older"),
            ("lib/./clip.mp4", 1.0, "a video"),
            ("/elsewhere/00AB12CD34EF5678", 1.0, "a Stash-named sprite"),
            ("12", 1.0, "a Stash scene id"),
            ("/gone/away.mp4", 1.0, "a file no longer here"),
        ]
        for scene, updated, source in rows:
            db.execute(
                f"INSERT INTO scenes ({V3_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (scene, MODEL, source, "vtt", 0, b"", b"", b"", b"", "[]", "[]", updated, ""),
            )
        db.execute("INSERT INTO errors VALUES (?,?,?,?)", ("lib/clip.mp4", MODEL, "bad", 1.0))
    with Store(path) as db:
        assert schema_version(db.db) == SCHEMA_VERSION
        keys = dict(db.db.execute("SELECT scene, source FROM scenes").fetchall())
        assert keys == {
            str(tmp_path / "lib" / "movie"): "relative, newest",
            str(tmp_path / "lib" / "clip.mp4"): "a video",
            "00ab12cd34ef5678": "a Stash-named sprite",
            "12": "a Stash scene id",
            "/gone/away.mp4": "a file no longer here",
        }
        assert db.errors(MODEL) == {str(tmp_path / "lib" / "clip.mp4"): "bad"}
