"""Per-model frame budgets: which frames of a request each model must see.

CLIP scores every frame (tags and markers are drawn from it); the detectors and DINOv2 change
slowly between neighbouring sprite cells (a cell is 1/81 of the video), so seeing every few
frames gives the same scene-level answer for a fraction of the work. A model the run has no use
for (no YOLO rule in the vocabulary) sees no frame at all: the server skips it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from stashtag_client.setting_values import SettingsError

# Every n-th frame each model sees by default (1: all; 0: none). Detectors are named.
DEFAULT_STRIDES = {"clip": 1, "yolo": 3, "dino": 2}
DEFAULT_DETECTOR_STRIDE = 3


@dataclass(frozen=True)
class FrameBudget:
    """Every ``strides[model]``-th frame per model, counted from the first (1: every frame,
    0: none); models not named see every frame."""

    strides: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_STRIDES))

    def __post_init__(self) -> None:
        bad = {m: s for m, s in self.strides.items() if not isinstance(s, int) or s < 0}
        if bad:
            raise ValueError(f"frame budget strides must be whole numbers ≥ 0, got {bad}")
        if self.strides.get("clip", 1) != 1:
            raise ValueError("CLIP sees every frame (tags and markers come from it)")

    @classmethod
    def default(cls, detectors: Iterable[str] = ()) -> FrameBudget:
        return cls({**DEFAULT_STRIDES, **dict.fromkeys(detectors, DEFAULT_DETECTOR_STRIDE)})

    def frames(self, model: str, count: int) -> np.ndarray:
        """The frame indices ``model`` sees among ``count``."""
        stride = self.strides.get(model, 1)
        return np.arange(0, count, stride) if stride else np.zeros(0, np.int64)

    def needs(self, count: int) -> dict[str, np.ndarray]:
        """The frames each named model must have seen for a scene of ``count`` frames."""
        return {m: self.frames(m, count) for m in self.strides}

    def lists(self, count: int) -> dict[str, np.ndarray]:
        """The tagger's frame lists for a request of ``count`` frames (models that see every
        frame are left out: the server's default)."""
        return {m: self.frames(m, count) for m, s in self.strides.items() if s != 1}


def parse_budget(text: str, detectors: Iterable[str] = ()) -> FrameBudget | None:
    """A ``frame_budget`` setting: ``auto`` (:meth:`FrameBudget.default`), ``all`` (None:
    every model on every frame) or ``model:n,...`` over the defaults (``yolo:2,dino:1``)."""
    text = text.strip().lower()
    if text == "all":
        return None
    budget = FrameBudget.default(detectors)
    if text in ("", "auto"):
        return budget
    strides = dict(budget.strides)
    for part in text.split(","):
        model, _, n = (p.strip() for p in part.partition(":"))
        if not n.isdigit():
            raise SettingsError(f"frame budget {part.strip()!r}: use model:n, e.g. yolo:3")
        if model not in strides:
            raise SettingsError(
                f"frame budget {part.strip()!r}: the models are {', '.join(strides)}"
            )
        strides[model] = int(n)
    if strides.get("dino", 1) == 0:
        raise SettingsError(
            "frame budget dino:0: DINOv2 feeds similar scenes, duplicates and learned tags;"
            " give it every n-th frame (dino:4) instead"
        )
    try:
        return FrameBudget(strides)
    except ValueError as exc:
        raise SettingsError(f"frame budget {text!r}: {exc}") from None
