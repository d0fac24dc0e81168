"""YAML with line numbers, and typed field access whose errors say ``file:line: path: what``."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import yaml

from stashtag_core.errors import StashtagError


class VocabularyError(StashtagError, ValueError):
    """A vocabulary file that cannot be used; the message names file, line and key."""


class LineMap(dict):
    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return getattr(self, "key_lines", {}).get(key, self.line)  # {} for a default map


class LineList(list):
    line: int = 0


class LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        mapping = LineMap(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
        return mapping

    def construct_sequence(self, node, deep=False):
        seq = LineList(super().construct_sequence(node, deep=True))
        seq.line = node.start_mark.line + 1
        return seq


LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, LineLoader.construct_mapping
)
LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, LineLoader.construct_sequence
)


class FieldReader:
    """Typed field access that raises :class:`VocabularyError` with file:line: path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, line: int, message: str) -> VocabularyError:
        return VocabularyError(f"{self.source}:{line}: {where}: {message}")

    def mapping(self, value: Any, where: str, line: int) -> LineMap:
        if not isinstance(value, dict):
            raise self.fail(where, line, f"must be a mapping, got {type(value).__name__}")
        return value if isinstance(value, LineMap) else LineMap(value)

    def check_keys(self, m: LineMap, where: str, allowed: set[str]) -> None:
        for key in m:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}",
                    m.line_of(key),
                    f"unknown key (allowed: {', '.join(sorted(allowed))})",
                )

    def get(
        self, m: LineMap, key: str, where: str, kind: str, default: Any = ..., lo=None, hi=None
    ):
        path = f"{where}.{key}" if where else key
        if key not in m:
            if default is ...:
                raise self.fail(path, m.line, "is required")
            return default
        value, line = m[key], m.line_of(key)
        if kind == "str":
            if not isinstance(value, str) or not value.strip():
                raise self.fail(path, line, "must be a non-empty string")
            return value.strip()
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(path, line, "must be true or false")
            return value
        if kind in ("number", "int"):
            if isinstance(value, str):  # YAML 1.1 reads "1e-5" (no dot) as a string
                with contextlib.suppress(ValueError):
                    value = float(value)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
            if kind == "int":
                ok = ok and float(value).is_integer()
            if not ok or (lo is not None and value < lo) or (hi is not None and value > hi):
                rng = (
                    f" between {lo} and {hi}"
                    if hi is not None
                    else (f" ≥ {lo}" if lo is not None else "")
                )
                raise self.fail(
                    path,
                    line,
                    f"must be {'an integer' if kind == 'int' else 'a number'}{rng}, got {value!r}",
                )
            return int(value) if kind == "int" else float(value)
        if kind == "strings":
            items = [value] if isinstance(value, str) else value
            if (
                not isinstance(items, list)
                or not items
                or not all(isinstance(v, str) and v.strip() for v in items)
            ):
                raise self.fail(path, line, "must be a string or a non-empty list of strings")
            return tuple(v.strip() for v in items)
        raise AssertionError(kind)
