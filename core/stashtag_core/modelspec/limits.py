"""Per-repository settings of the specs: request limits and the batching chosen by tuning."""

from __future__ import annotations

from dataclasses import dataclass, replace

from stashtag_core.modelspec.param_codec import Params
from stashtag_core.modelspec.types import ModelSpec

# Frames in one request never exceed this; a Stash sprite sheet holds 81.
MAX_FRAMES_PER_REQUEST = 128
# Decompression-bomb guard for the encoded images the server accepts.
DEFAULT_MAX_PIXELS = 40_000_000
# A Stash sprite sheet is ~0.3 MB; a 4K frame as JPEG a few MB.
DEFAULT_MAX_ENCODED_BYTES = 32 << 20


@dataclass(frozen=True)
class Limits(Params):
    """What one request may carry; the server refuses more with an error naming the limit."""

    max_pixels: int = DEFAULT_MAX_PIXELS  # decoded image (decompression bombs)
    max_frames: int = MAX_FRAMES_PER_REQUEST  # rectangles per request
    max_encoded_bytes: int = DEFAULT_MAX_ENCODED_BYTES  # the encoded image itself

    def __post_init__(self) -> None:
        if not 1 <= self.max_frames <= MAX_FRAMES_PER_REQUEST:
            raise ValueError(f"max_frames must lie in 1..{MAX_FRAMES_PER_REQUEST}")
        if self.max_pixels < 1 or self.max_encoded_bytes < 1:
            raise ValueError("max_pixels and max_encoded_bytes must be ≥ 1")


@dataclass(frozen=True)
class Tuning:
    """Dynamic-batching and instance settings chosen by ``stashtag bench --tune``."""

    max_queue_delay_us: int = 2000
    max_batch_size: int = MAX_FRAMES_PER_REQUEST
    preferred: tuple[int, ...] = (16, 32, 64)
    instances: int = 1

    def __post_init__(self) -> None:
        if self.max_batch_size < MAX_FRAMES_PER_REQUEST:
            raise ValueError(
                f"max_batch_size {self.max_batch_size} is below the"
                f" {MAX_FRAMES_PER_REQUEST} frames one request may carry"
            )
        if self.instances < 1 or self.max_queue_delay_us < 0:
            raise ValueError("instances must be ≥ 1 and max_queue_delay_us ≥ 0")
        if any(not 0 < p <= self.max_batch_size for p in self.preferred):
            raise ValueError(
                f"preferred sizes {self.preferred} must lie in 1..{self.max_batch_size}"
            )

    def apply(self, specs: list[ModelSpec]) -> list[ModelSpec]:
        """``specs`` with these settings on the frame models (instances: on the graphs among
        them and on the decoder that feeds them)."""
        out = []
        for s in specs:
            if s.frame_model and s.batching:
                s = replace(
                    s,
                    batching=replace(
                        s.batching,
                        max_batch_size=self.max_batch_size,
                        preferred=self.preferred,
                        max_queue_delay_us=self.max_queue_delay_us,
                    ),
                )
            if s.name == "preprocess" or (s.frame_model and s.kind == "onnx"):
                s = replace(s, instances=self.instances)
            out.append(s)
        return out
