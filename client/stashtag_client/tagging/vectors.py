"""Small numpy helpers the tag scoring shares (CLIP mapping and learned tags)."""

from __future__ import annotations

import numpy as np


def unit(m: np.ndarray) -> np.ndarray:
    """``m`` scaled to unit length along its last axis (zero vectors stay zero)."""
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


def logistic(x: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow for large ``|x|``."""
    return 0.5 * (1.0 + np.tanh(x / 2))
