"""Learned tags, calibration and feedback: synthetic stored libraries with a planted concept.

No Triton server exists in these tests: everything learn/calibrate/retag does works from the
store, so any inference call would fail them.
"""

from __future__ import annotations

import numpy as np
import pytest

from stashtag_client.directory import retag_store
from stashtag_client.store import Store
from stashtag_client.tagging.calibrate import calibrate
from stashtag_client.tagging.learned import (
    LearnError,
    delete_learned,
    learn_tag,
    load_learned,
    save_learned,
)
from stashtag_client.tagging.mapping import TextBank
from stashtag_client.tagging.thresholds import effective_tags
from stashtag_client.tagging.vocabulary import VocabularyError, parse_vocabulary
from tests.client.learning_data import planted_library

NO_CLIP_TAGS = "version: 1\ntags: []\n"


@pytest.fixture()
def library(tmp_path):
    store = Store(tmp_path / "s.db")
    yield store, planted_library(store)
    store.close()


def test_learned_tag_finds_held_out_positives(library):
    """Precision and recall on scenes it never saw, over five seeds (one seed's folds are luck:
    with 8 examples its threshold moves recall between about 0.56 and 0.88)."""
    store, lib = library
    train, held_out = lib.concept[:8], lib.concept[8:]
    recalls = []
    for seed in range(5):
        tag = learn_tag("Sunset", store, lib.model_id, train, seed=seed)
        assert tag.metrics.positives == 8
        assert tag.metrics.negatives == len(lib.other) + len(held_out)
        assert 0 < tag.threshold < 1 and tag.metrics.average_precision > 0.2
        save_learned(store, tag)

        results = retag_store(store, parse_vocabulary(NO_CLIP_TAGS), lib.model_id)
        found = {r.scene for r in results if any(t.name == "Sunset" for t in r.tags)} - set(train)
        true_positives = found & set(held_out)
        assert len(true_positives) / max(len(found), 1) >= 0.9  # precision on unseen scenes
        recalls.append(len(true_positives) / len(held_out))
        hit = next(t for r in results for t in r.tags if r.scene in true_positives)
        assert hit.source == "learned" and hit.frames  # frames (hence markers) come with it
    assert np.median(recalls) >= 0.6, recalls  # recall on unseen scenes


def test_rejections_weigh_against_a_lookalike(tmp_path):
    """Scenes the user rejected the tag on are strong negatives."""
    store = Store(tmp_path / "s.db")
    lib = planted_library(store, seed=3)
    base = learn_tag("X", store, lib.model_id, lib.concept[:6])
    rejected = lib.concept[6:14]  # the user says: not this (a lookalike concept)
    tag = learn_tag("X", store, lib.model_id, lib.concept[:6], rejected=rejected)
    assert tag.metrics.rejected == len(rejected)
    records = {r.scene: r for r in store.records(lib.model_id)}

    def mean_score(t, keys):
        return np.mean([t.score(t.frame_probabilities(records[k])) for k in keys])

    assert mean_score(tag, rejected) < mean_score(base, rejected)


def test_too_few_examples_is_a_clear_error(library):
    store, lib = library
    with pytest.raises(LearnError, match=r"3 example scene.*at least 5"):
        learn_tag("Sunset", store, lib.model_id, lib.concept[:3])
    with pytest.raises(LearnError, match="not in the store"):
        learn_tag("Sunset", store, lib.model_id, [*lib.concept[:4], "nope-1", "nope-2"])


def test_vocabulary_learned_entries(library):
    store, lib = library
    save_learned(store, learn_tag("Sunset", store, lib.model_id, lib.concept[:8]))
    vocab = parse_vocabulary(
        "version: 1\ntags:\n  - name: sunset\n    kind: learned\n    threshold: 0.99\n"
        "    markers: false\n  - name: Beach\n    prompts: a beach\n"
    )
    effective, learned = effective_tags(store, lib.model_id, vocab)
    assert [t.name for t in effective.tags] == ["Beach"]
    assert learned[0].threshold == 0.99 and learned[0].markers is False
    # a CLIP tag of the same name gives way to the learned one
    same = parse_vocabulary("version: 1\ntags:\n  - name: Sunset\n    prompts: a sunset\n")
    assert effective_tags(store, lib.model_id, same)[0].tags == ()
    missing = parse_vocabulary("version: 1\ntags:\n  - name: Dusk\n    kind: learned\n")
    with pytest.raises(VocabularyError, match="stashtag learn 'Dusk'"):
        effective_tags(store, lib.model_id, missing)
    with pytest.raises(VocabularyError, match=r"tags\[0\]\.prompts: unknown key"):
        parse_vocabulary("version: 1\ntags:\n  - name: A\n    kind: learned\n    prompts: x\n")
    assert delete_learned(store, lib.model_id, ["SUNSET"]) == ["Sunset"]
    assert load_learned(store, lib.model_id) == []


def _concept_bank(lib, scale: float) -> TextBank:
    other = np.zeros_like(lib.clip_direction)
    other[np.argmin(np.abs(lib.clip_direction))] = 1.0  # a negative prompt unrelated to it
    return TextBank({"Sunset": lib.clip_direction}, {"Sunset": other}, scale)


@pytest.mark.parametrize("start", [0.05, 0.995])
def test_calibration_moves_threshold_the_right_way(library, start):
    """Too low: the user removed the tag from many scenes → the threshold goes up, precision
    too. Too high: the user tagged by hand what it missed → down, recall up."""
    store, lib = library
    vocab = parse_vocabulary(
        f"version: 1\ntags:\n  - name: Sunset\n    prompts: a sunset\n    threshold: {start}\n"
    )
    labels = {"Sunset": (set(lib.concept), set(lib.other[:40]))}
    [c] = calibrate(store, lib.model_id, vocab, _concept_bank(lib, 5.0), [], labels)
    if start < 0.5:
        assert c.new > c.old and c.precision_after > c.precision_before
    else:
        assert c.new < c.old and c.recall_after > c.recall_before
    assert c.precision_after >= 0.9 and c.recall_after >= 0.9


def test_calibration_needs_enough_labels(library):
    store, lib = library
    vocab = parse_vocabulary("version: 1\ntags:\n  - name: Sunset\n    prompts: a sunset\n")
    labels = {"Sunset": (set(lib.concept[:2]), set(lib.other[:10]))}
    [c] = calibrate(store, lib.model_id, vocab, _concept_bank(lib, 5.0), [], labels)
    assert c.note and not c.changed and c.new == c.old


# --- through the plugin, against the fake Stash ------------------------------------------------


@pytest.fixture()
def stash_library(tmp_path):
    from stashtag_client.stash.workflow import INCORRECT_TAG
    from tests.client.test_stash import API_KEY
    from tests.fakestash import FakeScene, FakeStash, serve

    fake = FakeStash(API_KEY)
    sunset = fake.add_tag("Sunset")  # the user's own tag
    fake.add_tag(INCORRECT_TAG)
    with Store(tmp_path / "p.db") as store:
        lib = planted_library(store)
    for key in lib.concept + lib.other:
        fake.add_scene(FakeScene(key, f"Scene {key}", f"/lib/{key}.mp4", f"{int(key):016x}", 100.0))
    for key in lib.concept[:8]:
        fake.scenes[key].tag_ids.append(sunset)  # tagged by hand
    fake.plugin_settings["stashtag"] = {
        "1_tritonEndpoints": "127.0.0.1:1",  # nothing listens: learning, retagging need none
        "storePath": str(tmp_path / "p.db"),
        "learnTags": "Sunset",
        "vocabulary": str(_only_learned_vocabulary(tmp_path)),
    }
    server, url = serve(fake)
    yield fake, url, lib, sunset
    server.shutdown()


def _only_learned_vocabulary(tmp_path):
    path = tmp_path / "vocab.yml"
    path.write_text(NO_CLIP_TAGS)
    return path


def _scenes_with(fake, name: str) -> set[str]:
    tid = next((t for t, v in fake.tags.items() if v["name"] == name), None)
    return {s for s, v in fake.scenes.items() if tid in v.tag_ids}


def test_plugin_learns_suggests_applies_on_confirm_and_forgets(stash_library, tmp_path):
    from stashtag_client.stash.workflow import INCORRECT_TAG
    from tests.client.test_stash import run_plugin

    fake, url, lib, sunset = stash_library
    by_hand = set(lib.concept[:8])
    settings = fake.plugin_settings["stashtag"]

    code, result, logs = run_plugin(tmp_path, url, {"task": "learn"})
    assert code == 0 and result["output"]["learned"] == ["Sunset"], (result, logs)
    assert any("precision" in msg for level, msg in logs if level == "i")

    # not confirmed: only suggested, and not on the scenes the user tagged already
    code, result, logs = run_plugin(tmp_path, url, {"task": "retag", "scenes": "all"})
    assert code == 0, (result, logs)
    suggested = _scenes_with(fake, "AI Review: Sunset")
    assert _scenes_with(fake, "Sunset") == by_hand
    assert suggested and not suggested & by_hand
    assert len(suggested & set(lib.concept)) / len(suggested) >= 0.9

    settings["confirmedLearned"] = "*"
    code, result, logs = run_plugin(tmp_path, url, {"task": "retag", "scenes": "all"})
    assert code == 0, (result, logs)
    added = _scenes_with(fake, "Sunset") - by_hand
    assert added == suggested and not _scenes_with(fake, "AI Review: Sunset")

    # the user removes it from three scenes and marks one AI_Incorrect
    removed = sorted(added, key=int)[:3]
    for key in removed:
        fake.scenes[key].tag_ids.remove(sunset)
    incorrect = sorted(added - set(removed), key=int)[0]
    fake.scenes[incorrect].tag_ids.append(fake.tag_by_name(INCORRECT_TAG)["id"])
    code, result, logs = run_plugin(tmp_path, url, {"task": "retag", "scenes": "all"})
    assert code == 0 and not set(removed) & _scenes_with(fake, "Sunset")  # never re-added

    code, result, logs = run_plugin(tmp_path, url, {"task": "calibrate"})
    assert code == 0, (result, logs)
    [cal] = [c for c in result["output"]["calibrated"] if c["tag"] == "Sunset"]
    assert cal["negatives"] == 4 and cal["positives"] >= 8

    code, result, logs = run_plugin(tmp_path, url, {"task": "learned"})
    assert code == 0 and result["output"]["learned"] == ["Sunset"]

    settings["forgetTags"] = "*"
    code, result, logs = run_plugin(tmp_path, url, {"task": "forget"})
    assert code == 0 and result["output"]["deleted"] == ["Sunset"]
    assert _scenes_with(fake, "Sunset") == by_hand  # only the user's own uses are left
    code, result, logs = run_plugin(tmp_path, url, {"task": "retag", "scenes": "all"})
    assert code == 0 and _scenes_with(fake, "Sunset") == by_hand


def test_cli_learn_from_files_list_and_delete(library, tmp_path):
    from typer.testing import CliRunner

    from stashtag.cli import app

    store, lib = library
    examples = tmp_path / "examples.txt"
    examples.write_text("# my sunsets\n" + "\n".join(lib.concept[:8]) + "\n")
    db = str(store.path)
    runner = CliRunner()
    out = runner.invoke(app, ["learn", "Sunset", "--positives", str(examples), "--store", db])
    assert out.exit_code == 0, out.output
    assert "Sunset" in out.output and "saved 1 learned tag" in out.output
    listed = runner.invoke(app, ["learned", "list", "--store", db])
    assert listed.exit_code == 0 and "Sunset" in listed.output
    few = tmp_path / "few.txt"
    few.write_text("\n".join(lib.concept[:2]))
    bad = runner.invoke(app, ["learn", "Dusk", "--positives", str(few), "--store", db])
    assert bad.exit_code == 2 and "at least 5" in bad.output
    gone = runner.invoke(app, ["learned", "delete", "sunset", "--store", db])
    assert gone.exit_code == 0 and "deleted 1" in gone.output
    assert runner.invoke(app, ["learned", "delete", "x", "--store", db]).exit_code == 2


def test_cli_calibrate_against_stash(stash_library, tmp_path):
    from typer.testing import CliRunner

    from stashtag.cli import app
    from tests.client.test_stash import API_KEY

    fake, url, _lib, _sunset = stash_library
    db = fake.plugin_settings["stashtag"]["storePath"]
    vocab = fake.plugin_settings["stashtag"]["vocabulary"]
    runner = CliRunner()
    common = ["--stash-url", url, "--stash-api-key", API_KEY, "--store", db, "--vocabulary", vocab]
    out = runner.invoke(app, ["learn", "Sunset", "Nothing", *common])
    assert out.exit_code == 2 and "no tag named 'Nothing'" in out.output, out.output
    out = runner.invoke(app, ["calibrate", *common, "--dry-run"])
    assert out.exit_code == 0 and "Sunset" in out.output and "dry run" in out.output, out.output
