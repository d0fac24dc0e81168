"""What every exporter shares: where files go, offline-friendly weight loading errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from stashtag_core.errors import ExportError
from stashtag_core.modelspec import ONNX_FILE

T = TypeVar("T")
MODEL_FILE = ONNX_FILE


def version_dir(repo: Path, model: str) -> Path:
    """``<repo>/<model>/1``, created."""
    path = Path(repo) / model / "1"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_weights(what: str, source: str, load: Callable[[], T]) -> T:
    """Run ``load``; turn a failed download into an error that says what was missing."""
    try:
        return load()
    except (OSError, RuntimeError, ValueError, ConnectionError) as exc:
        raise ExportError(
            f"could not load {what} weights {source!r}: {exc.__class__.__name__}: {exc}\n"
            "The model hub is probably unreachable from this machine. Either download the "
            "weights on a connected machine into the Hugging Face / ultralytics cache (or pass a "
            "local file), or export with --random-weights for a test repository."
        ) from exc
