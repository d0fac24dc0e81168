"""Vocabulary files: the shipped default, and malformed files named by line and key."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stashtag_client.tagging.vocabulary import VocabularyError, load_vocabulary, parse_vocabulary

GOOD = """\
version: 1
groups:
  setting: {exclusive: true, parent: Setting}
tags:
  - {name: Indoors, group: setting, prompts: [indoors]}
  - {name: Outdoors, group: setting, prompts: [outdoors, "in the open"], threshold: 0.6}
  - name: Beach
    prompts: a beach
detections:
  - {tag: Person, classes: [person]}
"""


def test_default_vocabulary_loads():
    vocab = load_vocabulary()
    assert len(vocab.tags) >= 20 and len(vocab.detections) >= 10
    assert vocab.groups["setting"].exclusive
    assert all(t.prompts for t in vocab.tags)


def test_good_file():
    vocab = parse_vocabulary(GOOD, "v.yml")
    beach = vocab.tags[2]
    assert beach.prompts == ("a beach",) and beach.threshold == 0.5 and beach.group is None
    assert vocab.tags[0].parent == "Setting"  # inherited from the group
    assert vocab.tags[1].threshold == 0.6
    # exclusive tags compete with each other: only independent tags bring negatives
    assert vocab.prompts() == ["indoors", "outdoors", "in the open", "a beach", "a photo"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace("threshold: 0.6", "threshold: 1.5"),
            r"v.yml:6: tags\[1\].threshold: must be a number between 0 and 1, got 1.5",
        ),
        (lambda t: t.replace("threshold: 0.6", "threshold: high"), r"v.yml:6: tags\[1\].threshold"),
        (
            lambda t: t.replace(
                "group: setting, prompts: [indoors]", "group: settings, prompts: [x]"
            ),
            r"v.yml:5: tags\[0\].group: unknown group 'settings'",
        ),
        (
            lambda t: t.replace("name: Beach", "name: indoors"),
            r"v.yml:7: tags\[2\].name: duplicate tag 'indoors'",
        ),
        (lambda t: t.replace("    prompts: a beach\n", ""), r"tags\[2\].prompts: is required"),
        (
            lambda t: t.replace("prompts: a beach", "prompts: []"),
            r"v.yml:8: tags\[2\].prompts: must be a string or a non-empty list",
        ),
        (
            lambda t: t.replace("classes: [person]", "classes: [persn]"),
            r"v.yml:10: detections\[0\].classes: not COCO classes: \['persn'\]",
        ),
        (lambda t: t.replace("version: 1", "version: 3"), r"v.yml:1: version: unsupported"),
        (lambda t: t + "colour: blue\n", r"v.yml:11: vocabulary.colour: unknown key"),
        (
            lambda t: t.replace("  - {name: Outdoors", "  - {nme: Outdoors"),
            r"tags\[1\].nme: unknown key",
        ),
        (
            lambda t: t.replace("  setting: {exclusive: true", "  setting: {exclusive: yes please"),
            r"groups.setting",
        ),
        (lambda t: t.replace("tags:\n", "tags: {\n"), r"v.yml:\d+: invalid YAML"),
        (lambda t: "- just\n- a list\n", r"vocabulary: must be a mapping"),
    ],
)
def test_errors_name_line_and_key(edit, message):
    with pytest.raises(VocabularyError, match=message):
        parse_vocabulary(edit(GOOD), "v.yml")


def test_exclusive_group_needs_two_tags():
    text = GOOD.replace("  - {name: Outdoors, group: setting,", "  - {name: Outdoors,")
    with pytest.raises(VocabularyError, match="exclusive group needs at least 2 tags, has 1"):
        parse_vocabulary(text, "v.yml")


def test_missing_file(tmp_path):
    with pytest.raises(VocabularyError, match=r"nope\.yml: vocabulary file not found"):
        load_vocabulary(tmp_path / "nope.yml")


@settings(max_examples=100, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5))
def test_threshold_validation_property(value):
    text = GOOD.replace(
        "threshold: 0.6", f"threshold: {value!r}".replace("inf", ".inf").replace("nan", ".nan")
    )
    if isinstance(value, int | float) and 0 <= value <= 1:
        assert parse_vocabulary(text, "v.yml").tags[1].threshold == pytest.approx(float(value))
    else:
        with pytest.raises(VocabularyError, match=r"v.yml:6: tags\[1\].threshold"):
            parse_vocabulary(text, "v.yml")


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(
        st.text(alphabet="abcXYZ é", min_size=1, max_size=6).filter(str.strip),
        min_size=2,
        max_size=6,
    )
)
def test_tag_names_unique_case_insensitively(names):
    body = "\n".join(f"  - {{name: {n.strip()!r}, prompts: [p]}}" for n in names)
    text = f"version: 1\ntags:\n{body}\n"
    folded = [n.strip().casefold() for n in names]
    if len(set(folded)) == len(folded):
        assert [t.name for t in parse_vocabulary(text, "v.yml").tags] == [n.strip() for n in names]
    else:
        with pytest.raises(VocabularyError, match="duplicate tag"):
            parse_vocabulary(text, "v.yml")
