"""The settings file of a repository (``stashtag-settings.json``): what outlives ``repo build``."""

from __future__ import annotations

import json
from pathlib import Path

# Settings of a repository that outlive `repo build`: request limits, bench --tune's
# batching, GPUs, detectors. Configs are regenerated from the specs plus these.
SETTINGS_FILE = "stashtag-settings.json"


def read_settings(repo: Path) -> dict:
    path = Path(repo) / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object with 'tuning' and/or 'limits'")
    return data


def save_setting(repo: Path, section: str, value: object) -> Path:
    data = read_settings(repo)
    data[section] = value
    path = Path(repo) / SETTINGS_FILE
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
