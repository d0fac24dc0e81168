"""The fake Stash answers as the real Stash v0.30.1 did: its recorded exchanges replayed.

See tests/stash_contract.py for how the recordings were made and what is compared. A recording
that the fake answers differently names each differing field; fix the fake (or stashtag, when
it relied on the fake's mistake), never the recording.
"""

from __future__ import annotations

import json

import pytest

from tests.stash_contract import RECORDINGS, exchanges, recordings, replay

NAMES = recordings()


def test_there_are_recordings_of_every_kind_of_task():
    stdin = [json.loads((RECORDINGS / f"{n}.stdin.json").read_text()) for n in NAMES]
    tasks = {s["args"].get("task") for s in stdin}
    expected = {"tag", "retag", "duplicates", "generate", "tag-images", "tag-galleries", "review"}
    assert expected | {"learn", "calibrate", "learned", "undo"} <= tasks, tasks


@pytest.mark.parametrize("name", NAMES)
def test_the_fake_answers_as_stash_did(name):
    assert exchanges(name), f"{name}: an empty recording"
    assert replay(name) == []


def test_a_difference_is_found(tmp_path, monkeypatch):
    """The replay is not blind: one changed answer in a copy of a recording is reported."""
    import tests.stash_contract as contract

    name = NAMES[0]
    for f in RECORDINGS.glob(f"{name}.*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    rows = exchanges(name)
    target = next(i for i, r in enumerate(rows) if "findScenes" in r["query"])
    rows[target]["response"]["data"]["findScenes"]["count"] += 1
    (tmp_path / f"{name}.graphql.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    monkeypatch.setattr(contract, "RECORDINGS", tmp_path)
    found = replay(name)
    assert len(found) == 1 and ".findScenes.count" in found[0], found
