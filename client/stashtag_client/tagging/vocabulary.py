"""Tag vocabularies: which tags exist, the CLIP prompts and thresholds behind them, YOLO class
rules, aggregation, marker and studio settings — loaded from YAML and validated.

Validation errors name the file, the line and the key (``vocab.yml:12: tags[3].threshold: must be
a number between 0 and 1``) so a user can fix a hand-edited file without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from stashtag_client.tagging.rules import Policy, Rule
from stashtag_client.tagging.yaml_reader import (
    FieldReader,
    LineList,
    LineLoader,
    LineMap,
    VocabularyError,
)

# not .yml: Stash loads every .yml under its plugins folder (the client's deps/) as a plugin
DEFAULT_VOCABULARY = "default.yaml"


@dataclass(frozen=True)
class Group:
    name: str
    exclusive: bool = False  # softmax across its tags (exactly one of them holds)
    parent: str | None = None  # Stash parent tag for the group's tags


@dataclass(frozen=True)
class TagRule:
    name: str  # Stash tag name
    prompts: tuple[str, ...]  # averaged into one text embedding (prompt ensemble)
    threshold: float  # frame probability that counts as a hit
    group: str | None = None
    parent: str | None = None
    negatives: tuple[str, ...] = ()  # independent tags: what the tag is contrasted with
    markers: bool = True  # may produce scene markers


@dataclass(frozen=True)
class LearnedRule:
    """A vocabulary entry of kind ``learned``: the classifier comes from ``stashtag learn`` (in
    the store); the entry can override its threshold, parent and markers."""

    name: str
    threshold: float | None = None  # None: the threshold chosen when it was learned
    parent: str | None = None
    markers: bool = True


@dataclass(frozen=True)
class DetectionRule:
    tag: str
    classes: tuple[str, ...]  # the detector's class names (COCO for yolo)
    min_confidence: float = 0.5
    min_frames: int = 2
    parent: str | None = None
    markers: bool = True
    detector: str = "yolo"  # or an extra detector of the repository, e.g. "content"
    min_fraction: float = 0.0  # share of the scene's frames that must be hits


@dataclass(frozen=True)
class Aggregation:
    method: str = "fraction"  # "fraction": share of frames over threshold; "topk_mean"
    min_fraction: float = 0.1  # fraction: share of frames that must be hits
    top_k: int = 5  # topk_mean: mean of the k best frame probabilities must pass threshold
    min_frames: int = 2  # hits needed in any case


@dataclass(frozen=True)
class MarkerSettings:
    enabled: bool = True
    merge_gap_s: float = 8.0  # hits closer than this join one marker
    min_length_s: float = 10.0  # shorter ranges are dropped


@dataclass(frozen=True)
class StudioSettings:
    enabled: bool = True
    min_score: float = 85.0  # rapidfuzz score (0-100) a text must reach to name a studio
    min_text_score: float = 0.6  # OCR confidence below which text is ignored
    min_chars: int = 5  # shorter fragments name only studios no longer than themselves
    margin: float = 5.0  # the best studio must beat the second best by more than this


@dataclass(frozen=True)
class Vocabulary:
    tags: tuple[TagRule, ...]
    groups: dict[str, Group] = field(default_factory=dict)
    detections: tuple[DetectionRule, ...] = ()
    learned: tuple[LearnedRule, ...] = ()
    policy: Policy = field(default_factory=Policy)
    rules: tuple[Rule, ...] = ()
    aggregation: Aggregation = Aggregation()
    markers: MarkerSettings = MarkerSettings()
    studio: StudioSettings = StudioSettings()
    parent_tag: str = "AI"  # every tag stashtag creates sits under this parent
    source: str = "<vocabulary>"

    def prompts(self) -> list[str]:
        """Every distinct prompt (tags and negatives), in a stable order."""
        seen: dict[str, None] = {}
        for t in self.tags:
            for p in (*t.prompts, *t.negatives):
                seen.setdefault(p, None)
        return list(seen)


def parse_vocabulary(text: str, source: str = "<vocabulary>") -> Vocabulary:
    """Parse and validate vocabulary YAML text."""
    r = FieldReader(source)
    try:
        data = yaml.load(text, Loader=LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise VocabularyError(
            f"{source}:{line}: invalid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    root = r.mapping(data, "vocabulary", 1)
    r.check_keys(
        root,
        "vocabulary",
        {
            "version",
            "parent_tag",
            "defaults",
            "groups",
            "tags",
            "detections",
            "aggregation",
            "markers",
            "studio",
            "policy",
            "rules",
        },
    )
    version = r.get(root, "version", "", "int", 1)
    if version != 1:
        raise r.fail("version", root.line_of("version"), f"unsupported version {version}")

    defaults = r.mapping(root.get("defaults", LineMap()), "defaults", root.line_of("defaults"))
    r.check_keys(defaults, "defaults", {"threshold", "negatives"})
    default_threshold = r.get(defaults, "threshold", "defaults", "number", 0.5, 0, 1)
    default_negatives = r.get(defaults, "negatives", "defaults", "strings", ("a photo",))

    groups: dict[str, Group] = {}
    groups_map = r.mapping(root.get("groups", LineMap()), "groups", root.line_of("groups"))
    for name, body in groups_map.items():
        where = f"groups.{name}"
        g = r.mapping(body if body is not None else LineMap(), where, groups_map.line_of(name))
        r.check_keys(g, where, {"exclusive", "parent"})
        groups[name] = Group(
            name,
            r.get(g, "exclusive", where, "bool", False),
            r.get(g, "parent", where, "str", None),
        )

    tags_list = root.get("tags", LineList())
    if not isinstance(tags_list, list):
        raise r.fail("tags", root.line_of("tags"), "must be a list")
    tags: list = []
    learned: list = []
    names: dict[str, int] = {}
    for i, item in enumerate(tags_list):
        where = f"tags[{i}]"
        t = r.mapping(item, where, getattr(tags_list, "line", 0))
        kind = r.get(t, "kind", where, "str", "clip")
        if kind not in ("clip", "learned"):
            raise r.fail(f"{where}.kind", t.line_of("kind"), f"must be clip or learned: {kind!r}")
        allowed = {"name", "kind", "threshold", "parent", "markers"}
        if kind == "clip":
            allowed |= {"prompts", "group", "negatives"}
        r.check_keys(t, where, allowed)
        name = r.get(t, "name", where, "str")
        lowered = name.casefold()
        if lowered in names:
            raise r.fail(
                f"{where}.name",
                t.line_of("name"),
                f"duplicate tag {name!r} (also tags[{names[lowered]}]; Stash tag names "
                "are case-insensitive)",
            )
        names[lowered] = i
        if kind == "learned":
            learned.append(
                LearnedRule(
                    name,
                    r.get(t, "threshold", where, "number", None, 0, 1),
                    r.get(t, "parent", where, "str", None),
                    r.get(t, "markers", where, "bool", True),
                )
            )
            continue
        group = r.get(t, "group", where, "str", None)
        if group is not None and group not in groups:
            raise r.fail(
                f"{where}.group",
                t.line_of("group"),
                f"unknown group {group!r} (defined: {', '.join(groups) or 'none'})",
            )
        tags.append(
            TagRule(
                name=name,
                prompts=r.get(t, "prompts", where, "strings"),
                threshold=r.get(t, "threshold", where, "number", default_threshold, 0, 1),
                group=group,
                parent=r.get(t, "parent", where, "str", groups[group].parent if group else None),
                # exclusive tags compete with each other, not with negatives
                negatives=()
                if group and groups[group].exclusive
                else r.get(t, "negatives", where, "strings", default_negatives),
                markers=r.get(t, "markers", where, "bool", True),
            )
        )
    for gname, grp in groups.items():
        members = sum(t.group == gname for t in tags)
        if grp.exclusive and members < 2:
            raise r.fail(
                f"groups.{gname}",
                groups_map.line_of(gname),
                f"an exclusive group needs at least 2 tags, has {members}",
            )

    from stashtag_client.tagging.coco import COCO_CLASSES
    from stashtag_core.modelspec.detectors import NUDENET_CLASSES, NUDENET_NAME

    # detectors whose classes are known here; a user's own detector's are checked at run time
    known_by_detector = {"yolo": COCO_CLASSES, NUDENET_NAME: NUDENET_CLASSES}
    det_list = root.get("detections", LineList())
    if not isinstance(det_list, list):
        raise r.fail("detections", root.line_of("detections"), "must be a list")
    detections = []
    for i, item in enumerate(det_list):
        where = f"detections[{i}]"
        d = r.mapping(item, where, getattr(det_list, "line", 0))
        r.check_keys(
            d,
            where,
            {
                "tag",
                "classes",
                "min_confidence",
                "min_frames",
                "parent",
                "markers",
                "detector",
                "min_fraction",
            },
        )
        detector = r.get(d, "detector", where, "str", "yolo")
        classes = r.get(d, "classes", where, "strings")
        known_classes = known_by_detector.get(detector)
        unknown = [c for c in classes if known_classes is not None and c not in known_classes]
        if unknown:
            raise r.fail(
                f"{where}.classes",
                d.line_of("classes"),
                f"not {detector} classes: {unknown} (known: {', '.join(known_classes)})"
                if detector != "yolo"
                else f"not COCO classes: {unknown} (see stashtag_client.tagging.coco)",
            )
        detections.append(
            DetectionRule(
                tag=r.get(d, "tag", where, "str"),
                classes=classes,
                min_confidence=r.get(d, "min_confidence", where, "number", 0.5, 0, 1),
                min_frames=r.get(d, "min_frames", where, "int", 2, 1),
                parent=r.get(d, "parent", where, "str", None),
                markers=r.get(d, "markers", where, "bool", True),
                detector=detector,
                min_fraction=r.get(d, "min_fraction", where, "number", 0.0, 0, 1),
            )
        )

    agg = r.mapping(root.get("aggregation", LineMap()), "aggregation", root.line_of("aggregation"))
    r.check_keys(agg, "aggregation", {"method", "min_fraction", "top_k", "min_frames"})
    method = r.get(agg, "method", "aggregation", "str", "fraction")
    if method not in ("fraction", "topk_mean"):
        raise r.fail(
            "aggregation.method",
            agg.line_of("method"),
            f"must be fraction or topk_mean, got {method!r}",
        )
    aggregation = Aggregation(
        method=method,
        min_fraction=r.get(agg, "min_fraction", "aggregation", "number", 0.1, 0, 1),
        top_k=r.get(agg, "top_k", "aggregation", "int", 5, 1),
        min_frames=r.get(agg, "min_frames", "aggregation", "int", 2, 1),
    )
    mk = r.mapping(root.get("markers", LineMap()), "markers", root.line_of("markers"))
    r.check_keys(mk, "markers", {"enabled", "merge_gap_s", "min_length_s"})
    markers = MarkerSettings(
        enabled=r.get(mk, "enabled", "markers", "bool", True),
        merge_gap_s=r.get(mk, "merge_gap_s", "markers", "number", 8.0, 0, 30),
        min_length_s=r.get(mk, "min_length_s", "markers", "number", 10.0, 0),
    )
    st = r.mapping(root.get("studio", LineMap()), "studio", root.line_of("studio"))
    r.check_keys(st, "studio", {"enabled", "min_score", "min_text_score", "min_chars", "margin"})
    studio = StudioSettings(
        enabled=r.get(st, "enabled", "studio", "bool", True),
        min_score=r.get(st, "min_score", "studio", "number", 85.0, 0, 100),
        min_text_score=r.get(st, "min_text_score", "studio", "number", 0.6, 0, 1),
        min_chars=r.get(st, "min_chars", "studio", "int", 5, 1, 100),
        margin=r.get(st, "margin", "studio", "number", 5.0, 0, 100),
    )
    from stashtag_client.tagging.vocabulary_rules import parse_policy, parse_rules

    known = {t.name.casefold() for t in tags} | {t.name.casefold() for t in learned}
    known |= {d.tag.casefold() for d in detections}
    rules = parse_rules(r, root, known)  # adds the tags rules add to ``known``
    return Vocabulary(
        tags=tuple(tags),
        policy=parse_policy(r, root, known),
        rules=rules,
        groups=groups,
        detections=tuple(detections),
        learned=tuple(learned),
        aggregation=aggregation,
        markers=markers,
        studio=studio,
        parent_tag=r.get(root, "parent_tag", "", "str", "AI"),
        source=source,
    )


def load_vocabulary(path: Path | str | None = None) -> Vocabulary:
    """Load ``path``, or the shipped default vocabulary when ``path`` is None."""
    if path is None:
        shipped = resources.files("stashtag_client.tagging").joinpath(DEFAULT_VOCABULARY)
        text = shipped.read_text("utf-8")
        return parse_vocabulary(text, f"<default {DEFAULT_VOCABULARY}>")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VocabularyError(f"{path}: vocabulary file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"{path}: cannot read ({exc})") from None
    return parse_vocabulary(text, str(path))
