"""The ``policy:`` and ``rules:`` sections of a vocabulary (:mod:`stashtag_client.tagging.rules`).

Tag names in rules and lists must be tags the vocabulary knows (CLIP, ``kind: learned``, YOLO
rule tags, or tags a rule adds): a typo is an error with file and line, not a rule that never
fires.
"""

from __future__ import annotations

from typing import Any

from stashtag_client.tagging.rules import Policy, Rule

RULE_KEYS = {
    "if_all",
    "if_any",
    "if_none",
    "if_scores",
    "if_objects",
    "below",
    "tags",
    "add",
    "remove",
    "review",
    "parent",
}


def _names(r, m, key: str, where: str, known: set[str]) -> tuple[str, ...]:
    names = r.get(m, key, where, "strings", ())
    for n in names:
        if n.casefold() not in known:
            raise r.fail(
                f"{where}.{key}",
                m.line_of(key),
                f"unknown tag {n!r} (a vocabulary tag, a kind: learned entry, a detection tag "
                "or a tag a rule adds)",
            )
    return names


def parse_rules(r, root, known: set[str]) -> tuple[Rule, ...]:
    """``rules:`` → rules; ``known``: casefolded tag names of the vocabulary (extended with
    the tags the rules add)."""
    from stashtag_client.tagging.coco import COCO_CLASSES

    items = root.get("rules", [])
    if not isinstance(items, list):
        raise r.fail("rules", root.line_of("rules"), "must be a list")
    maps = [
        r.mapping(item, f"rules[{i}]", getattr(items, "line", 0)) for i, item in enumerate(items)
    ]
    for i, m in enumerate(maps):
        for n in r.get(m, "add", f"rules[{i}]", "strings", ()):
            known.add(n.casefold())
    rules = []
    for i, m in enumerate(maps):
        where = f"rules[{i}]"
        r.check_keys(m, where, RULE_KEYS)
        place = f"{r.source}:{m.line}: {where}"
        below = r.get(m, "below", where, "number", None, 0, 1)
        if below is not None:
            extra = sorted(set(m) - {"below", "tags", "review"})
            if extra:
                raise r.fail(
                    where, m.line, f"a rule with below takes only tags and review, not {extra}"
                )
            rules.append(
                Rule(
                    place,
                    below=below,
                    tags=_names(r, m, "tags", where, known),
                    review=r.get(m, "review", where, "bool", True),
                )
            )
            continue
        scores_map = r.mapping(m.get("if_scores", {}), f"{where}.if_scores", m.line_of("if_scores"))
        scores = []
        for tag, _value in scores_map.items():
            if str(tag).casefold() not in known:
                raise r.fail(f"{where}.if_scores", scores_map.line_of(tag), f"unknown tag {tag!r}")
            scores.append(
                (str(tag), r.get(scores_map, tag, f"{where}.if_scores", "number", ..., 0, 1))
            )
        objects = r.get(m, "if_objects", where, "strings", ())
        unknown = [o for o in objects if o not in COCO_CLASSES]
        if unknown:
            raise r.fail(
                f"{where}.if_objects", m.line_of("if_objects"), f"not COCO classes: {unknown}"
            )
        review: Any = m.get("review", ())
        review = _names(r, m, "review", where, known) if review else ()
        rule = Rule(
            place,
            if_all=_names(r, m, "if_all", where, known),
            if_any=_names(r, m, "if_any", where, known),
            if_none=_names(r, m, "if_none", where, known),
            if_scores=tuple(scores),
            if_objects=objects,
            add=r.get(m, "add", where, "strings", ()),
            remove=_names(r, m, "remove", where, known),
            review=review,
            parent=r.get(m, "parent", where, "str", None),
        )
        if not (rule.if_all or rule.if_any or rule.if_none or rule.if_scores or rule.if_objects):
            raise r.fail(
                where,
                m.line,
                "needs a condition (if_all, if_any, if_none, if_scores, if_objects or below)",
            )
        if not (rule.add or rule.remove or rule.review):
            raise r.fail(where, m.line, "needs an action (add, remove or review)")
        rules.append(rule)
    return tuple(rules)


def parse_policy(r, root, known: set[str]) -> Policy:
    m = r.mapping(root.get("policy", {}), "policy", root.line_of("policy"))
    r.check_keys(m, "policy", {"allow", "deny", "priority", "review_below"})
    pr = r.mapping(m.get("priority", {}), "policy.priority", m.line_of("priority"))
    r.check_keys(pr, "policy.priority", {"tags", "threshold"})
    allow = _names(r, m, "allow", "policy", known) if "allow" in m else None
    priority = _names(r, pr, "tags", "policy.priority", known)
    threshold = r.get(pr, "threshold", "policy.priority", "number", None, 0, 1)
    if priority and threshold is None:
        raise r.fail("policy.priority.threshold", pr.line, "is required with priority tags")
    return Policy(
        allow=frozenset(n.casefold() for n in allow) if allow is not None else None,
        deny=frozenset(n.casefold() for n in _names(r, m, "deny", "policy", known)),
        priority=frozenset(n.casefold() for n in priority),
        priority_threshold=threshold,
        review_below=r.get(m, "review_below", "policy", "number", None, 0, 1),
    )
