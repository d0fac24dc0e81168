"""What stashtag did to one Stash instance's items, kept in the store.

Scenes, images (``image:<id>``) and galleries are keyed the way :class:`StashSync` keys them.
Only tags recorded here as stashtag's are ever removed by it; tags the user took off are
remembered so they are never added again, and feed ``learn`` and ``calibrate`` as negatives.
Its tables are part of the store's schema (:mod:`stashtag_client.store_schema`).
"""

from __future__ import annotations

import sqlite3
import time


class TagLedger:
    """The store's record of one Stash instance (``stash``: its key, see :mod:`.instance`)."""

    def __init__(self, db: sqlite3.Connection, stash: str) -> None:
        self.db, self.stash = db, stash

    def _ids(self, table: str, item: str) -> set[str]:
        rows = self.db.execute(
            f"SELECT tag_id FROM {table} WHERE stash = ? AND scene_id = ?", (self.stash, item)
        )
        return {r[0] for r in rows}

    def _rows(self, item: str, tag_ids: set[str]) -> list[tuple[str, str, str]]:
        return [(self.stash, item, t) for t in sorted(tag_ids)]

    def applied(self, item: str) -> set[str]:
        """Tags on ``item`` that stashtag put there (and so may take off again)."""
        return self._ids("stash_applied", item)

    def pending(self, item: str) -> set[str]:
        """Tags recorded as applied whose ADD Stash has not confirmed yet."""
        return self._ids("stash_pending", item)

    def rejected(self, item: str) -> set[str]:
        return self._ids("stash_rejected", item)

    def record(self, item: str, tag_ids: set[str]) -> None:
        """stashtag is about to add ``tag_ids``: recorded first, pending until :meth:`confirm`."""
        with self.db:
            for table in ("stash_applied", "stash_pending"):
                self.db.executemany(
                    f"INSERT OR IGNORE INTO {table} VALUES (?,?,?)", self._rows(item, tag_ids)
                )

    def confirm(self, item: str, tag_ids: set[str]) -> None:
        with self.db:
            self.db.executemany(
                "DELETE FROM stash_pending WHERE stash = ? AND scene_id = ? AND tag_id = ?",
                self._rows(item, tag_ids),
            )

    def forget(self, item: str, tag_ids: set[str]) -> None:
        """Stop managing tags on an item (they leave these records, not the item)."""
        with self.db:
            for table in ("stash_applied", "stash_pending"):
                self.db.executemany(
                    f"DELETE FROM {table} WHERE stash = ? AND scene_id = ? AND tag_id = ?",
                    self._rows(item, tag_ids),
                )

    def reject(self, item: str, tag_ids: set[str]) -> None:
        """The user removed tags stashtag added: remember it, stop managing them."""
        if not tag_ids:
            return
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO stash_rejected VALUES (?,?,?,?)",
                [(*row, time.time()) for row in self._rows(item, tag_ids)],
            )
            self.db.executemany(
                "DELETE FROM stash_applied WHERE stash = ? AND scene_id = ? AND tag_id = ?",
                self._rows(item, tag_ids),
            )

    def mark_incorrect(self, item: str, tag_ids: set[str]) -> None:
        """The user tagged the item ``AI_Incorrect``: stashtag's tags on it are negatives."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO stash_feedback VALUES (?,?,?)",
                (self.stash, item, ",".join(sorted(tag_ids))),
            )

    def rejections(self) -> dict[str, set[str]]:
        """Item → tag ids the user rejected (removed, or the item marked AI_Incorrect)."""
        out: dict[str, set[str]] = {}
        rows = self.db.execute(
            "SELECT scene_id, tag_id FROM stash_rejected WHERE stash = ?", (self.stash,)
        )
        for item, tag in rows:
            out.setdefault(item, set()).add(tag)
        rows = self.db.execute(
            "SELECT scene_id, tags FROM stash_feedback WHERE stash = ?", (self.stash,)
        )
        for item, tags in rows:
            out.setdefault(item, set()).update(t for t in tags.split(",") if t)
        return out

    def items_with(self, tag_ids: set[str]) -> dict[str, set[str]]:
        """Item → which of ``tag_ids`` stashtag put on it."""
        rows = self.db.execute(
            f"SELECT scene_id, tag_id FROM stash_applied WHERE stash = ? AND tag_id IN "
            f"({','.join('?' * len(tag_ids))})",
            (self.stash, *sorted(tag_ids)),
        )
        out: dict[str, set[str]] = {}
        for item, tag in rows:
            out.setdefault(item, set()).add(tag)
        return out

    def review(self, item: str, tags: list[str], accepted: bool) -> None:
        """The user's verdict on review suggestions (tag names), for calibration."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO stash_review VALUES (?,?,?,?,?)",
                [(self.stash, item, t, int(accepted), time.time()) for t in tags],
            )

    def save_tags(self, item: str, tag_ids: set[str]) -> None:
        """An item's tags before ``overwrite`` first changes them (the first save wins)."""
        with self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO stash_saved VALUES (?,?,?,?)",
                (self.stash, item, ",".join(sorted(tag_ids)), time.time()),
            )

    def saved_tags(self, item: str) -> set[str] | None:
        row = self.db.execute(
            "SELECT tag_ids FROM stash_saved WHERE stash = ? AND scene_id = ?", (self.stash, item)
        ).fetchone()
        return {t for t in row[0].split(",") if t} if row else None

    def drop_saved(self, item: str) -> None:
        with self.db:
            self.db.execute(
                "DELETE FROM stash_saved WHERE stash = ? AND scene_id = ?", (self.stash, item)
            )
