"""Which Stash a store's records belong to: an id kept in that Stash's own configuration.

The ledger (what stashtag applied, what the user removed) was keyed by Stash's URL, so a
different Stash at the same address (a recreated container, a second library run one after the
other) inherited another library's records; Stash hands out tag ids in creation order, so which
tags it then skipped as "removed by the user" varied between tries. Each Stash now gets a random
id, kept as the hidden plugin setting ``instanceId`` (``configurePlugin``), and the ledger's rows
carry it.

Stash's settings page saves a plugin's whole configuration from what it loaded, so an id
written while that page was open can be lost by the next setting the user changes. The store
remembers the ids it met at each URL: one whose applied tags are still on their scenes in this
Stash is the same instance, and its id is written back. Stores of older versions (rows keyed by
URL) are adopted the same way, by that check.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable

from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashError

PLUGIN_ID = "stashtag"
SETTING = "instanceId"
PROBE = 20  # applied (scene, tag) pairs looked up to recognise an instance
SAME = 0.8  # share of them still on their scenes that makes it the same Stash
LEDGER_TABLES = (
    "stash_applied",
    "stash_pending",
    "stash_rejected",
    "stash_feedback",
    "stash_saved",
    "stash_review",
)


def ledger_key(instance: str) -> str:
    return f"stash:{instance}"


def _still_ours(client: StashClient, db: sqlite3.Connection, key: str) -> bool:
    """Whether the tags stashtag recorded under ``key`` are on their scenes in this Stash."""
    pairs = db.execute(
        "SELECT scene_id, tag_id FROM stash_applied WHERE stash = ? AND scene_id NOT LIKE '%:%'"
        " ORDER BY scene_id, tag_id LIMIT ?",
        (key, PROBE),
    ).fetchall()
    if not pairs:
        return False
    on: dict[str, set[str]] = {}
    for scene_id in {s for s, _ in pairs}:
        scene = client.find_scene(scene_id)
        on[scene_id] = set(scene.tags) if scene else set()
    return sum(tag in on[scene] for scene, tag in pairs) >= SAME * len(pairs)


def _recognise(
    client: StashClient, db: sqlite3.Connection, url: str, log: Callable[[str, str], None]
) -> str | None:
    """The id of the instance met at ``url`` before, when this Stash is it; rows an older
    store keyed by the URL are moved under a new id when they are this Stash's."""
    seen = db.execute(
        "SELECT instance FROM stash_instances WHERE url = ? ORDER BY seen DESC", (url,)
    ).fetchall()
    for (instance,) in seen:
        if _still_ours(client, db, ledger_key(instance)):
            log("w", f"stashtag: {url} had lost its stashtag instance id; restored it")
            return instance
    if _still_ours(client, db, url):
        log(
            "i",
            f"stashtag: {url} now has an instance id (in stashtag's plugin settings); the "
            "store's earlier records of this Stash were moved under it",
        )
        instance = uuid.uuid4().hex
        with db:
            for table in LEDGER_TABLES:
                db.execute(
                    f"UPDATE {table} SET stash = ? WHERE stash = ?", (ledger_key(instance), url)
                )
        return instance
    return None


def instance_key(
    client: StashClient,
    db: sqlite3.Connection,
    dry_run: bool = False,
    log: Callable[[str, str], None] | None = None,
) -> str:
    """The key of this Stash's rows in the store's ledger (made, and saved in Stash, once)."""
    url = client.conn.url
    config = client.plugin_settings(PLUGIN_ID)
    instance = str(config.get(SETTING) or "")
    if not instance:
        instance = _recognise(client, db, url, log or (lambda level, msg: None)) or ""
        if not instance and dry_run:
            return url  # a dry run writes nothing to Stash, and no records either
        instance = instance or uuid.uuid4().hex
        if not dry_run:
            try:
                client.configure_plugin(PLUGIN_ID, {**config, SETTING: instance})
            except StashError as exc:
                if _saved(client) == instance:  # applied, the answer lost
                    return _remember(db, instance, url)
                raise StashError(
                    f"{exc}: stashtag keeps an id for this Stash in its plugin settings and"
                    " could not save it (the API key needs admin rights)"
                ) from None
    return _remember(db, instance, url)


def _saved(client: StashClient) -> str:
    try:
        return str(client.plugin_settings(PLUGIN_ID, fresh=True).get(SETTING) or "")
    except StashError:
        return ""


def _remember(db: sqlite3.Connection, instance: str, url: str) -> str:
    with db:
        db.execute(
            "INSERT OR REPLACE INTO stash_instances VALUES (?, ?, ?)", (instance, url, time.time())
        )
    return ledger_key(instance)
