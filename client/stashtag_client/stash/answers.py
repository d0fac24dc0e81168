"""What each of the plugin's operations answers the web UI: declared once, here.

:mod:`.operations` returns these (mypy checks each answer it builds); the UI's TypeScript types
(``plugin/ui/src/answers.ts``) are generated from them by :func:`typescript`
(``stashtag plugin manifest``), and the tests check every answer the operations give against
them with :func:`mismatches`.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypedDict, Union


class Card(TypedDict):
    """What a scene card shows."""

    id: str
    title: str
    screenshot: str | None
    duration: float | None
    width: int | None
    height: int | None
    size: int | None
    studio: str | None


class Hit(Card):
    score: float
    frame: int
    time: float


class Alignment(TypedDict):
    aligned: float  # share of the shorter scene's frames matched in order
    offset_s: float


class Neighbour(Card):
    score: float
    duplicate: Alignment | None


class DuplicateScene(Card):
    marked: bool  # already tagged AI_Duplicate


class Pair(TypedDict):
    a: str
    b: str
    scene_cosine: float
    aligned: float
    offset_s: float


class DuplicateGroup(TypedDict):
    scenes: list[DuplicateScene]
    pairs: list[Pair]


class ReviewScene(Card):
    suggestions: list[str]


class StatusAnswer(TypedDict):
    store: str
    model_id: str | None
    scenes: int


class SearchAnswer(TypedDict):
    model_id: str
    text: str
    hits: list[Hit]
    filtered: bool  # narrowed by a tag or studio


class SimilarAnswer(TypedDict):
    scene_id: str
    tagged: bool
    neighbours: list[Neighbour]


class DuplicatesAnswer(TypedDict):
    groups: list[DuplicateGroup]


class MarkDuplicatesAnswer(TypedDict):
    marked: list[str]
    tag: str


class ReviewAnswer(TypedDict):
    scenes: list[ReviewScene]


class DecideAnswer(TypedDict):
    scene_id: str
    accepted: list[str]
    rejected: list[str]


# operation name → its answer
ANSWERS: dict[str, Any] = {
    "status": StatusAnswer,
    "search": SearchAnswer,
    "similar": SimilarAnswer,
    "duplicates": DuplicatesAnswer,
    "mark_duplicates": MarkDuplicatesAnswer,
    "review": ReviewAnswer,
    "decide": DecideAnswer,
}


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def _union_args(tp: Any) -> tuple | None:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return typing.get_args(tp)
    return None


def mismatches(value: Any, tp: Any, path: str = "answer") -> list[str]:
    """Where ``value`` differs from the declared ``tp`` (missing or extra keys, wrong types)."""
    options = _union_args(tp)
    if options is not None:
        found = [mismatches(value, o, path) for o in options]
        return [] if any(not f for f in found) else min(found, key=len)
    if tp is type(None):
        return [] if value is None else [f"{path}: {value!r} is not null"]
    if _is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        hints = typing.get_type_hints(tp)
        out = [f"{path}.{k}: missing" for k in hints if k not in value]
        out += [f"{path}.{k}: not declared" for k in value if k not in hints]
        for k, sub in hints.items():
            if k in value:
                out += mismatches(value[k], sub, f"{path}.{k}")
        return out
    if typing.get_origin(tp) is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item,) = typing.get_args(tp)
        return [m for i, v in enumerate(value) for m in mismatches(v, item, f"{path}[{i}]")]
    wanted = {float: (int, float), int: (int,), str: (str,), bool: (bool,)}[tp]
    if (isinstance(value, bool) and tp is not bool) or not isinstance(value, wanted):
        return [f"{path}: {value!r} is not {tp.__name__}"]
    return []


def _ts(tp: Any) -> str:
    options = _union_args(tp)
    if options is not None:
        return " | ".join(_ts(o) for o in options)
    if tp is type(None):
        return "null"
    if _is_typeddict(tp):
        return tp.__name__
    if typing.get_origin(tp) is list:
        item = _ts(typing.get_args(tp)[0])
        return f"({item})[]" if "|" in item else f"{item}[]"
    return {str: "string", int: "number", float: "number", bool: "boolean"}[tp]


def _declared() -> list[type]:
    """Every TypedDict of this module, in declaration order."""
    return [v for v in globals().values() if _is_typeddict(v) and v.__module__ == __name__]


def typescript() -> str:
    """The UI's types of these answers (``plugin/ui/src/answers.ts``)."""
    lines = [
        "// Generated from client/stashtag_client/stash/answers.py by `stashtag plugin"
        " manifest`: edit that, not this.",
        "",
    ]
    for td in _declared():
        lines.append(f"export interface {td.__name__} {{")
        lines += [f"  {k}: {_ts(v)};" for k, v in typing.get_type_hints(td).items()]
        lines += ["}", ""]
    lines.append("export interface Answers {")
    lines += [f"  {op}: {td.__name__};" for op, td in ANSWERS.items()]
    lines.append("}")
    return "\n".join(lines) + "\n"
