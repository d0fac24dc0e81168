"""Tagging policy: rules, allow/deny/priority, review routing, strategies, review queue, undo.

Stored libraries are synthetic (a planted concept the CLIP tag ``Sunset`` finds) with cached
prompt embeddings, so retagging needs no Triton; Stash is the fake server over real HTTP.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection
from stashtag_client.stash.sync import StashSync
from stashtag_client.stash.workflow import ACCEPT_TAG, QUEUE_TAG, REJECT_TAG
from stashtag_client.store import Store
from stashtag_client.tagging.mapping import build_text_bank, map_scene
from stashtag_client.tagging.rules import Policy, Rule, RuleLoopError, run_rules
from stashtag_client.tagging.textbank import LOGIT_SCALE_KEY
from stashtag_client.tagging.vocabulary import VocabularyError, parse_vocabulary
from stashtag_core.errors import StashtagError
from tests.client.learning_data import planted_library

VOCAB = """
version: 1
aggregation: {method: fraction, min_fraction: 0.2, min_frames: 2}
tags:
  - name: Sunset
    prompts: a sunset
    negatives: a photo
    threshold: 0.97
  - name: Beach
    prompts: a beach
    negatives: a photo
    threshold: 0.95
"""


def vocab(extra: str = "", base: str = VOCAB):
    return parse_vocabulary(base + extra, "test.yml")


def cache_prompts(store: Store, lib) -> None:
    """Prompt embeddings as the server would have returned them: 'a sunset' is the planted
    concept's direction, 'a beach' and 'a photo' unrelated ones."""
    rng = np.random.default_rng(7)
    other = rng.normal(size=lib.clip_direction.shape)
    store.cache_text(
        lib.model_id,
        {
            "a sunset": lib.clip_direction.astype(np.float32),
            "a beach": (other / np.linalg.norm(other)).astype(np.float32),
            "a photo": np.zeros_like(lib.clip_direction, dtype=np.float32),
        },
    )
    store.set_meta(lib.model_id, LOGIT_SCALE_KEY, "10")


# --- rules and policy, pure ---------------------------------------------------------------------


def test_rules_validation_names_file_line_and_key():
    cases = {
        "rules:\n  - if_all: [Sunsett]\n    add: Dusk\n": (
            r"test.yml:\d+: rules\[0\]\.if_all: unknown tag 'Sunsett'"
        ),
        "rules:\n  - add: Dusk\n": r"rules\[0\]: needs a condition",
        "rules:\n  - if_all: [Sunset]\n": r"rules\[0\]: needs an action",
        "rules:\n  - below: 0.7\n    add: X\n": r"below takes only tags and review",
        "rules:\n  - if_objects: [unicorn]\n    add: X\n": r"not COCO classes: \['unicorn'\]",
        "rules:\n  - if_scores: {Nope: 0.5}\n    add: X\n": r"if_scores: unknown tag 'Nope'",
        "policy:\n  deny: [Nope]\n": r"policy\.deny: unknown tag 'Nope'",
        "policy:\n  priority: {tags: [Beach]}\n": r"threshold: is required with priority",
        "policy:\n  colour: red\n": r"policy\.colour: unknown key",
    }
    for text, message in cases.items():
        with pytest.raises(VocabularyError, match=message):
            vocab(text)
    # a tag a rule adds can be used by a later rule and by the policy
    v = vocab(
        "rules:\n  - if_all: [Sunset, Beach]\n    add: Beach sunset\n"
        "  - if_all: [Beach sunset]\n    add: Golden\npolicy:\n  deny: [Golden]\n"
    )
    assert [r.add for r in v.rules] == [("Beach sunset",), ("Golden",)]
    assert v.policy.deny == {"golden"}


def hits(*names: str, score: float = 0.5) -> dict:
    return {n.casefold(): (n, score, None) for n in names}


def test_rules_chain_in_order_and_settle():
    rules = (
        Rule("r0", if_all=("cat", "sofa"), add=("pet comfort",)),
        Rule("r1", if_all=("outdoor",), if_scores=(("night", 0.6),), add=("night exterior",)),
        Rule("r2", if_all=("pet comfort",), if_none=("outdoor",), add=("indoor pet",)),
    )
    state = run_rules(rules, hits("cat", "sofa"), {"night": 0.9}, set())
    assert set(state.applied) == {"cat", "sofa", "pet comfort", "indoor pet"}
    state = run_rules(rules, hits("outdoor"), {"night": 0.61}, set())
    assert "night exterior" in state.applied
    state = run_rules(rules, hits("outdoor"), {"night": 0.6}, set())
    assert "night exterior" not in state.applied  # strictly above


def test_rule_loop_is_an_error_not_a_hang():
    rules = (
        Rule("test.yml:3: rules[0]", if_all=("a",), remove=("a",), add=("b",)),
        Rule("test.yml:6: rules[1]", if_all=("b",), remove=("b",), add=("a",)),
    )
    with pytest.raises(RuleLoopError, match=r"rules\[0\].*rules\[1\]"):
        run_rules(rules, hits("a"), {}, set())


def test_review_and_remove_rules():
    rules = (
        Rule("r0", below=0.7, review=True),
        Rule("r1", if_objects=("cat",), review=("sofa",)),
    )
    state = run_rules(rules, {**hits("weak", score=0.3), **hits("strong", score=0.9)}, {}, set())
    assert set(state.applied) == {"strong"} and set(state.review) == {"weak"}
    state = run_rules(rules[1:], hits("sofa", "tv", score=0.9), {}, {"cat"})
    assert set(state.applied) == {"tv"} and set(state.review) == {"sofa"}


def test_policy_on_mapped_scenes(tmp_path):
    with Store(tmp_path / "s.db") as store:
        lib = planted_library(store)
        cache_prompts(store, lib)
        prompts = store.cached_text(lib.model_id, ["a sunset", "a beach", "a photo"])
        record = store.get(lib.concept[0], lib.model_id)
        plain = vocab()
        bank = build_text_bank(plain, prompts, 10.0)
        base = map_scene(record, plain, bank)
        assert [t.name for t in base.tags] == ["Sunset"] and "Beach" in base.scores

        def mapped(extra: str):
            v = vocab(extra)
            return map_scene(record, v, build_text_bank(v, prompts, 10.0))

        assert mapped("policy:\n  deny: [sunset]\n").tags == []
        assert mapped("policy:\n  allow: [Beach]\n").tags == []
        routed = mapped("policy:\n  review_below: 0.99\n")
        assert routed.tags == [] and [t.name for t in routed.review] == ["Sunset"]
        added = mapped("rules:\n  - if_all: [Sunset]\n    add: Evening\n    parent: Time\n")
        evening = next(t for t in added.tags if t.name == "Evening")
        assert evening.source == "rule" and evening.parent == "Time" and added.rules
        looped = mapped(
            "rules:\n  - if_all: [Sunset]\n    remove: [Sunset]\n    add: Beach\n"
            "  - if_all: [Beach]\n    remove: [Beach]\n    add: Sunset\n"
        )
        assert "loop" in looped.error and looped.tags == [] and looped.markers == []
        # a priority tag gets its own lower threshold
        strict = "policy:\n  priority: {tags: [Sunset], threshold: 0.3}\n"
        high = VOCAB.replace(
            "threshold: 0.97\n  - name: Beach", "threshold: 0.9999\n  - name: Beach"
        )
        v = vocab(base=high)
        assert map_scene(record, v, build_text_bank(v, prompts, 10.0)).tags == []
        v = vocab(strict, base=high)
        assert [t.name for t in map_scene(record, v, build_text_bank(v, prompts, 10.0)).tags] == [
            "Sunset"
        ]


# --- strategies, review queue and undo against the fake Stash ----------------------------------


@pytest.fixture()
def library(tmp_path):
    from tests.client.test_stash import API_KEY
    from tests.fakestash import FakeScene, FakeStash, serve

    fake = FakeStash(API_KEY)
    mine = fake.add_tag("Mine")  # the user's own tag
    fake.add_tag(QUEUE_TAG)
    store = Store(tmp_path / "s.db")
    lib = planted_library(store, scenes=20, concept_scenes=6)
    cache_prompts(store, lib)
    for key in lib.concept + lib.other:
        fake.add_scene(FakeScene(key, f"Scene {key}", f"/lib/{key}.mp4", f"{int(key):016x}", 100.0))
        fake.scenes[key].tag_ids.append(mine)
    server, url = serve(fake)
    yield fake, url, store, lib
    server.shutdown()
    store.close()


def sync_for(url, store, v=None, **settings) -> StashSync:
    from tests.client.test_stash import API_KEY

    client = StashClient(StashConnection(url, API_KEY, timeout_s=2.0, attempts=2))
    return StashSync(client, store, v or vocab(), Settings(markers=False, studio=False, **settings))


def tag_names(fake) -> dict[str, set[str]]:
    return {k: {fake.tags[t]["name"] for t in s.tag_ids} for k, s in fake.scenes.items()}


def retag(sync: StashSync):
    return sync.retag(sync.scenes("all"))


def test_append_keeps_and_replace_own_replaces_earlier_tags(library):
    fake, url, store, lib = library
    retag(sync_for(url, store))
    after = tag_names(fake)
    assert {k for k, v in after.items() if "Sunset" in v} == set(lib.concept)
    assert all("Mine" in v for v in after.values())
    never = vocab(
        base=VOCAB.replace("threshold: 0.97\n  - name: Beach", "threshold: 1.0\n  - name: Beach")
    )
    retag(sync_for(url, store, never))  # append (default): earlier tags stay
    assert tag_names(fake) == after
    retag(sync_for(url, store, never, strategy="replace-own"))
    assert tag_names(fake) == {k: {"Mine"} for k in fake.scenes}  # only stashtag's went


def test_only_new_skips_tagged_scenes(library):
    fake, url, store, lib = library
    first = lib.concept[0]
    retag(sync_for(url, store, strategy="replace-own"))
    fake.scenes[lib.concept[1]].tag_ids.clear()  # stashtag's tag removed by the user
    reports = {r.scene_id: r for r in retag(sync_for(url, store, strategy="only-new"))}
    assert reports[first].status == "skipped"
    assert reports[lib.other[0]].status == "tagged"  # no stashtag tag: tagged (nothing to add)
    reports = {
        r.scene_id: r for r in retag(sync_for(url, store, strategy="only-new", only_new_any=True))
    }
    assert reports[lib.other[0]].status == "skipped"  # it has the user's tag


def test_overwrite_needs_permission_and_undo_restores_everything(library):
    fake, url, store, lib = library
    with pytest.raises(StashtagError, match="enable it explicitly"):
        sync_for(url, store, strategy="overwrite")
    queue = fake.tag_by_name(QUEUE_TAG)["id"]
    fake.scenes[lib.concept[0]].tag_ids.append(queue)
    before = tag_names(fake)
    sync = sync_for(url, store, strategy="overwrite", allow_overwrite=True)
    retag(sync)
    after = tag_names(fake)
    assert after[lib.concept[0]] == {"Sunset", QUEUE_TAG}  # workflow tags stay
    assert after[lib.other[0]] == set()
    assert sync.writer.undo(sync.scenes("all")) == len(fake.scenes)
    assert tag_names(fake) == before


def test_review_queue_accept_and_reject_are_feedback(library):
    from stashtag_client.stash.review import apply_review

    fake, url, store, lib = library
    sync = sync_for(url, store, vocab("policy:\n  review_below: 0.99\n"))
    retag(sync)
    names = tag_names(fake)
    suggested = {k for k, v in names.items() if "AI Review: Sunset" in v}
    assert suggested == set(lib.concept) and not any("Sunset" in v for v in names.values())
    yes, no, later = lib.concept[0], lib.concept[1], lib.concept[2]
    fake.scenes[yes].tag_ids.append(fake.add_tag(ACCEPT_TAG))
    fake.scenes[no].tag_ids.append(fake.add_tag(REJECT_TAG))
    report = apply_review(sync)
    assert report.accepted == [(yes, "Sunset")] and report.rejected == [(no, "Sunset")]
    names = tag_names(fake)
    assert names[yes] == {"Mine", "Sunset"} and names[no] == {"Mine"}
    assert names[later] == {"Mine", "AI Review: Sunset"}
    decisions = store.db.execute("SELECT scene_id, tag, accepted FROM stash_review").fetchall()
    assert sorted(decisions) == sorted([(yes, "Sunset", 1), (no, "Sunset", 0)])
    retag(sync_for(url, store, vocab("policy:\n  review_below: 0.99\n"), strategy="replace-own"))
    assert tag_names(fake) == names  # neither suggested again; the accepted tag stays
    assert sync.ledger.rejections()[no]


def test_rule_loop_leaves_the_scene_alone(library):
    fake, url, store, lib = library
    before = tag_names(fake)
    looping = vocab(
        "rules:\n  - if_all: [Sunset]\n    remove: [Sunset]\n    add: Beach\n"
        "  - if_all: [Beach]\n    remove: [Beach]\n    add: Sunset\n"
    )
    reports = {r.scene_id: r for r in retag(sync_for(url, store, looping))}
    assert reports[lib.concept[0]].status == "error" and "loop" in reports[lib.concept[0]].error
    assert tag_names(fake) == before


def test_strategy_is_checked():
    with pytest.raises(StashtagError, match="unknown strategy"):
        dataclasses.replace(Settings(), strategy="merge").check()
    assert Policy().threshold("x", 0.5) == 0.5
