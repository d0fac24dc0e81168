"""Typed model parameters ↔ the string map of a Triton ``config.pbtxt`` (:class:`Params`)."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

from stashtag_core.modelspec.buckets import format_sizes, parse_sizes

Sizes = tuple[tuple[int, int], ...]  # WIDTHxHEIGHT sizes, written "640x640,640x384"


def _parse_bool(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError(f"{text!r}: expected 0 or 1")
    return text == "1"


def _format_float(value: float) -> str:
    return f"{value:.6g}"


def _parse_ints(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(",") if p.strip())


# (write, read) of each value type a parameter may have
_SCALARS: dict[Any, tuple[Callable[[Any], str], Callable[[str], Any]]] = {
    str: (str, str),
    int: (str, int),
    float: (_format_float, float),
    bool: (lambda v: "1" if v else "0", _parse_bool),
    Sizes: (format_sizes, parse_sizes),
    tuple[int, ...]: (lambda v: ",".join(map(str, v)), _parse_ints),
    dict[str, tuple[str, ...]]: (
        lambda v: json.dumps({k: list(c) for k, c in v.items()}, separators=(",", ":")),
        lambda t: {k: tuple(c) for k, c in json.loads(t).items()},
    ),
}


class Params:
    """Base of a model's parameters: a frozen dataclass whose fields are the keys of its
    ``config.pbtxt`` parameters. The specs write them (:meth:`encode`), the served models and
    the client read them back (:meth:`decode`), so a key is named in one place.

    A field that is ``None`` is left out; a field whose type is another :class:`Params` is
    written flat, its keys beside these. Keys that depend on values (one per detector) belong
    to a field marked ``metadata={"custom": True}``, which the subclass writes and reads in
    :meth:`_encode_more` / :meth:`_decode_more`."""

    _hints: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def _types(cls) -> dict[str, Any]:
        key = f"{cls.__module__}.{cls.__qualname__}"
        if key not in Params._hints:
            Params._hints[key] = typing.get_type_hints(cls)
        return Params._hints[key]

    def encode(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            kind = _optional(self._types()[f.name])
            if value is None or f.metadata.get("custom"):
                continue
            if isinstance(value, Params):
                out |= value.encode()
            else:
                out[f.name] = str(value) if _choices(kind) else _SCALARS[kind][0](value)
        return out | self._encode_more()

    @classmethod
    def decode(cls, raw: Mapping[str, str], model: str = "") -> Self:
        """Read these parameters from ``raw`` (unknown keys ignored); a missing required key
        or a value that does not parse raises ValueError naming the model and key."""
        where = f"model {model!r}: " if model else ""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            kind = _optional(cls._types()[f.name])
            if f.metadata.get("custom"):
                continue
            if isinstance(kind, type) and issubclass(kind, Params):
                values[f.name] = kind.decode(raw, model)
                continue
            if f.name not in raw:
                if _required(f):
                    raise ValueError(f"{where}config.pbtxt lacks parameter {f.name!r}")
                continue
            try:
                values[f.name] = _read(kind, raw[f.name])
            except (ValueError, TypeError, json.JSONDecodeError) as exc:
                raise ValueError(f"{where}parameter {f.name!r}: {exc}") from None
        try:
            return cls(**values, **cls._decode_more(raw))
        except ValueError as exc:
            raise ValueError(f"{where}{exc}") from None

    def _encode_more(self) -> dict[str, str]:
        return {}

    @classmethod
    def _decode_more(cls, raw: Mapping[str, str]) -> dict[str, Any]:
        return {}

    def but(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _choices(kind: Any) -> tuple[str, ...]:
    """The values of a ``Literal[...]`` type; () for any other."""
    return typing.get_args(kind) if typing.get_origin(kind) is typing.Literal else ()


def _read(kind: Any, text: str) -> Any:
    choices = _choices(kind)
    if choices and text not in choices:
        raise ValueError(f"{text!r}: expected one of {', '.join(choices)}")
    return text if choices else _SCALARS[kind][1](text)


def _optional(kind: Any) -> Any:
    """``X | None`` → ``X``."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return args[0]
    return kind


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
