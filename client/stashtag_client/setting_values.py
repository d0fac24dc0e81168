"""How a setting's value is read from text, files and Stash's plugin settings."""

from __future__ import annotations

from typing import Any

from stashtag_core.errors import StashtagError

DEFAULT_TEMPLATE = "{tags}{objects}{studio}{text}"  # a description's (tagging/descriptions.py)
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


class SettingsError(StashtagError, ValueError):
    """A setting with a value it cannot take; the message names its source."""


def coerce(kind: type, value: Any, source: str) -> Any:
    """``value`` as ``kind`` (bool, int, float or str); strings (env, files) are parsed."""
    try:
        if kind is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in TRUE | FALSE:
                    raise ValueError(f"expected true or false, got {value!r}")
                return low in TRUE
            if not isinstance(value, bool | int):
                raise ValueError(f"expected true or false, got {value!r}")
            return bool(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(f"expected a whole number, got {value!r}")
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(f"expected a number, got {value!r}")
            return float(value)
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError(f"expected text, got {value!r}")
        return str(value)
    except ValueError as exc:
        raise SettingsError(f"{source}: {exc}") from None


# Stash plugin settings whose form differs from the setting's
def negate(value: Any) -> bool:
    return not value


def suggest_mode(value: Any) -> str:
    return "suggest" if value else "apply"


def in_flight(value: Any) -> Any:
    return value or 16  # an emptied number box saves 0


def percent(value: Any) -> Any:
    """Stash's NUMBER box keeps whole numbers only: shares are set as percentages."""
    return float(value) / 100


def share_percent(value: Any) -> Any:
    return float(value) / 100 if value else 0.3  # an emptied box saves 0: keep the default


# plugin settings renamed in 0.2 (connection settings first in Stash's list, sorted by key)
LEGACY_PLUGIN_KEYS = {
    "endpoints": "1_tritonEndpoints",
    "serverKey": "2_tritonServerKey",
    "tlsCa": "3_tritonTlsCa",
}


def with_legacy_keys(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with 0.1 key names read as their 0.2 names (where the new one is unset)."""
    config = dict(config)
    for old, new in LEGACY_PLUGIN_KEYS.items():
        if config.get(old) not in (None, "") and config.get(new) in (None, ""):
            config[new] = config[old]
    return config
