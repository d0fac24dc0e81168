"""A repository's settings file (``stashtag-settings.json``), typed and read once.

It holds what outlives ``repo build``: the preset and target built, request limits, bench
--tune's batching, GPUs, int8, device resize, the bucket scale and the detectors. Configs are
regenerated from the model specs plus these; every reader takes a :class:`RepoSettings`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import cast

from stashtag_core.modelspec import TARGETS, Detector, Limits, Target, Tuning
from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE
from stashtag_core.presets import PRESETS

SETTINGS_FILE = "stashtag-settings.json"


@dataclass(frozen=True)
class SavedDetector:
    """A detector of the repository and where its weights came from (``nudenet`` or a path)."""

    detector: Detector
    source: str


@dataclass(frozen=True)
class RepoSettings:
    """Everything the settings file says; defaults where it says nothing."""

    preset: str | None = None
    target: Target | None = None
    limits: Limits = field(default_factory=Limits)
    tuning: Tuning | None = None
    gpus: tuple[int, ...] = ()
    int8: bool = False
    device_resize: bool = False
    bucket_scale: float = DEFAULT_BUCKET_SCALE
    detectors: tuple[SavedDetector, ...] = ()

    @property
    def detector_specs(self) -> tuple[Detector, ...]:
        return tuple(d.detector for d in self.detectors)

    @classmethod
    def load(cls, repo: Path) -> RepoSettings:
        """Read ``repo``'s settings file (defaults when there is none); a malformed one is
        refused with the file and section named."""
        path = Path(repo) / SETTINGS_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc}); fix or delete it") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected an object of settings")
        return cls(
            preset=_choice(path, data, "preset", PRESETS),
            target=cast(Target | None, _choice(path, data, "target", TARGETS)),
            limits=_record(path, data, "limits", Limits) or Limits(),
            tuning=_record(path, data, "tuning", Tuning),
            gpus=_gpus(path, data),
            int8=_flag(path, data, "int8"),
            device_resize=_flag(path, data, "device_resize"),
            bucket_scale=_bucket_scale(path, data),
            detectors=_detectors(path, data),
        )

    def save(self, repo: Path) -> Path:
        """Write these settings as ``repo``'s settings file (the folder is created)."""
        names = [d.detector.name for d in self.detectors]
        if len(set(names)) != len(names):
            raise ValueError(f"two detectors share a name: {', '.join(names)}")
        data: dict = {
            "preset": self.preset,
            "target": self.target,
            "limits": asdict(self.limits),
            "tuning": _plain_tuning(self.tuning) if self.tuning else None,
            "gpus": list(self.gpus),
            "int8": self.int8,
            "device_resize": self.device_resize,
            "bucket_scale": self.bucket_scale,
            "detectors": [{**d.detector.as_dict(), "source": d.source} for d in self.detectors],
        }
        path = Path(repo) / SETTINGS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}, indent=2))
        return path

    def but(self, **changes) -> RepoSettings:
        """A copy with ``changes``; None values leave a setting as it is."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _plain_tuning(t: Tuning) -> dict:
    d = asdict(t)
    d["preferred"] = list(d["preferred"])
    return d


def _choice(path: Path, data: dict, key: str, allowed) -> str | None:
    value = data.get(key)
    if value is not None and value not in allowed:
        raise ValueError(f"{path}: {key}: unknown {key} {value!r}")
    return value


def _record(path: Path, data: dict, key: str, cls):
    raw = data.get(key)
    if raw is None:
        return None
    try:
        if "preferred" in raw:
            raw = {**raw, "preferred": tuple(raw["preferred"])}
        return cls(**raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: {key}: {exc} (delete the section to go back to the defaults)"
        ) from None


def _gpus(path: Path, data: dict) -> tuple[int, ...]:
    gpus = data.get("gpus", [])
    if not isinstance(gpus, list) or not all(
        isinstance(g, int) and not isinstance(g, bool) and g >= 0 for g in gpus
    ):
        raise ValueError(f"{path}: gpus: expected a list of GPU numbers")
    return tuple(gpus)


def _flag(path: Path, data: dict, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{path}: {key}: expected true or false")
    return value


def _bucket_scale(path: Path, data: dict) -> float:
    value = data.get("bucket_scale", DEFAULT_BUCKET_SCALE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 16:
        raise ValueError(f"{path}: bucket_scale: expected 0 (off) to 16")
    return float(value)


def _detectors(path: Path, data: dict) -> tuple[SavedDetector, ...]:
    try:
        return tuple(
            SavedDetector(
                Detector.from_dict({k: v for k, v in d.items() if k != "source"}), d["source"]
            )
            for d in data.get("detectors", [])
        )
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"{path}: detectors: {exc} (rebuild with --detector, or --no-detectors to drop them)"
        ) from None
