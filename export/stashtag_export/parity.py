"""Parity checks: an exported graph against its source framework on the same input."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from stashtag_core.errors import ExportError


@dataclass(frozen=True)
class Parity:
    """How closely one exported output matched the framework."""

    output: str
    max_abs_diff: float
    min_cosine: float  # worst per-row cosine similarity

    def as_dict(self) -> dict:
        return asdict(self)


def compare(name: str, got: np.ndarray, want: np.ndarray) -> Parity:
    """Max absolute difference and worst row cosine between two same-shaped arrays."""
    if got.shape != want.shape:
        raise ExportError(f"{name}: exported shape {got.shape} != framework shape {want.shape}")
    a = got.reshape(len(got), -1).astype(np.float64)
    b = want.reshape(len(want), -1).astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cos = np.where(norms > 0, (a * b).sum(1) / np.maximum(norms, 1e-30), 1.0)
    return Parity(name, float(np.abs(a - b).max()), float(cos.min()))


def check(
    model: str, got: dict[str, np.ndarray], want: dict[str, np.ndarray], atol: float, min_cos: float
) -> list[Parity]:
    """Compare every output; raise :class:`ExportError` naming the first one over tolerance."""
    results = [compare(k, got[k], want[k]) for k in want]
    for p in results:
        if p.max_abs_diff > atol or p.min_cosine < min_cos:
            raise ExportError(
                f"{model}: parity failed on {p.output!r}: max |diff| {p.max_abs_diff:.3g} "
                f"(tolerance {atol:g}), min cosine {p.min_cosine:.6f} (needs {min_cos})"
            )
    return results
