"""The release's version: defined once (``stashtag_core.__version__``), carried everywhere else.

Python code imports it; the plugin manifest is generated with it (``stashtag plugin manifest``);
packaging metadata that cannot import (each distribution's ``pyproject.toml`` and its pins of
the others, the UI's npm files) is rewritten by :func:`set_version` (``scripts/set_version.py``) and
checked equal by the tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from stashtag_core import __version__

ROOT = Path(__file__).resolve().parent.parent
_PINS = r'"stashtag-(?:core|client|export)(?:\[[\w,]+\])?==([^"]+)"'
# (file, pattern whose one group is a version): every place a version is written by hand
PLACES: tuple[tuple[str, str], ...] = (
    ("core/stashtag_core/__init__.py", r'^__version__ = "([^"]+)"'),
    ("pyproject.toml", r'^version = "([^"]+)"'),
    ("pyproject.toml", _PINS),
    ("client/pyproject.toml", r'^version = "([^"]+)"'),
    ("client/pyproject.toml", _PINS),
    ("export/pyproject.toml", r'^version = "([^"]+)"'),
    ("export/pyproject.toml", _PINS),
    ("plugin/ui/package.json", r'^  "version": "([^"]+)"'),
    ("plugin/ui/package-lock.json", r'^  "version": "([^"]+)"'),
    ("plugin/ui/package-lock.json", r'^      "version": "([^"]+)",\n      "license"'),
)


def written_versions(root: Path = ROOT) -> dict[str, set[str]]:
    """Each file's versions as written (every place of :data:`PLACES`)."""
    out: dict[str, set[str]] = {}
    for name, pattern in PLACES:
        text = (root / name).read_text(encoding="utf-8")
        found = re.findall(pattern, text, flags=re.M)
        if not found:
            raise ValueError(f"{name}: no version where {pattern!r} expects one")
        out.setdefault(name, set()).update(found)
    return out


def set_version(new: str, root: Path = ROOT) -> list[str]:
    """Write ``new`` into every place; the files changed."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", new):
        raise ValueError(f"version {new!r}: give x.y.z")
    changed = []
    for name, pattern in PLACES:
        path = root / name
        text = path.read_text(encoding="utf-8")
        done = re.sub(pattern, lambda m: m.group(0).replace(m.group(1), new), text, flags=re.M)
        if done != text:
            path.write_text(done, encoding="utf-8")
            changed.append(name)
    return sorted(set(changed))


__all__ = ["PLACES", "__version__", "set_version", "written_versions"]
