"""The ledger is keyed by the Stash instance (an id it keeps), not by its URL: a different
Stash at the same address starts clean, a lost id is recognised, older stores are adopted."""

from __future__ import annotations

import pytest

from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection
from stashtag_client.stash.instance import PLUGIN_ID, SETTING, instance_key, ledger_key
from stashtag_client.stash.ledger import TagLedger
from stashtag_client.store import Store
from tests.fakestash import FakeScene, FakeStash, serve


def _library(tags_on_scenes: bool) -> FakeStash:
    fake = FakeStash("key")
    ids = [fake.add_tag(n) for n in ("AI", "Beach", "Night")]
    for i in range(1, 4):
        fake.add_scene(
            FakeScene(str(i), f"S{i}", f"/v/{i}.mp4", f"{i:016x}", 30.0,
                      tag_ids=list(ids[1:]) if tags_on_scenes else [])
        )  # fmt: skip
    return fake


@pytest.fixture
def stash(tmp_path):
    """(one URL whose Stash can be swapped, a client for it, a store)."""
    first = _library(tags_on_scenes=True)
    server, url = serve(first)
    store = Store(tmp_path / "store.db")
    yield server, StashClient(StashConnection(url, "key", timeout_s=5, attempts=2)), store
    server.shutdown()
    store.close()


def _swap(server, fake: FakeStash) -> None:
    fake.base_url = server.RequestHandlerClass.stash.base_url
    server.RequestHandlerClass.stash = fake


def _new_run(client: StashClient) -> StashClient:
    """A new plugin process: a new client, which reads the plugin settings afresh."""
    return StashClient(client.conn)


def _tag_ids(server) -> set[str]:
    fake = server.RequestHandlerClass.stash
    return {fake.tag_by_name(n)["id"] for n in ("Beach", "Night")}


def _applied(store: Store, key: str, tags: set[str]) -> None:
    ledger = TagLedger(store.db, key)
    for scene in ("1", "2", "3"):
        ledger.record(scene, tags)
        ledger.confirm(scene, tags)


def test_each_stash_keeps_its_own_id(stash):
    server, client, store = stash
    key = instance_key(client, store.db)
    fake = server.RequestHandlerClass.stash
    assert key == ledger_key(fake.plugin_settings[PLUGIN_ID][SETTING])
    assert instance_key(client, store.db) == key  # read back, not made again
    _applied(store, key, _tag_ids(server))
    _swap(server, _library(tags_on_scenes=False))  # a new Stash at the same address
    other = instance_key(_new_run(client), store.db)
    assert other != key
    assert TagLedger(store.db, other).applied("1") == set(), "another Stash's records leaked"


def test_a_lost_id_is_recognised_by_the_tags_still_on_the_scenes(stash):
    server, client, store = stash
    key = instance_key(client, store.db)
    _applied(store, key, _tag_ids(server))
    fake = server.RequestHandlerClass.stash
    fake.plugin_settings[PLUGIN_ID] = {"tritonEndpoints": "gpu:8001"}  # the settings page saved
    logs = []
    assert instance_key(_new_run(client), store.db, log=lambda lv, m: logs.append(m)) == key
    assert fake.plugin_settings[PLUGIN_ID] == {"tritonEndpoints": "gpu:8001", SETTING: key[6:]}
    assert any("restored" in m for m in logs)


def test_an_older_store_keyed_by_url_is_adopted_only_by_its_own_stash(stash):
    server, client, store = stash
    url = client.conn.url
    _applied(store, url, _tag_ids(server))  # rows as stores before version 8 wrote them
    TagLedger(store.db, url).reject("1", {"9"})
    _swap(server, _library(tags_on_scenes=False))
    stranger = instance_key(_new_run(client), store.db)
    assert TagLedger(store.db, stranger).rejections() == {}
    _swap(server, _library(tags_on_scenes=True))  # the Stash those rows came from
    own = instance_key(_new_run(client), store.db)
    assert own != stranger
    assert TagLedger(store.db, own).applied("1") == _tag_ids(server)
    assert TagLedger(store.db, own).rejections() == {"1": {"9"}}
    assert TagLedger(store.db, url).applied("1") == set()


def test_a_dry_run_writes_no_id(stash):
    server, client, store = stash
    assert instance_key(client, store.db, dry_run=True) == client.conn.url
    assert SETTING not in server.RequestHandlerClass.stash.plugin_settings.get(PLUGIN_ID, {})


def test_a_lost_answer_to_saving_the_id_is_looked_up(stash):
    server, client, store = stash
    fake = server.RequestHandlerClass.stash
    fake.faults.drop_after_next, fake.faults.drop_after_match = 10, "configurePlugin"
    key = instance_key(client, store.db)
    assert key == ledger_key(fake.plugin_settings[PLUGIN_ID][SETTING])
