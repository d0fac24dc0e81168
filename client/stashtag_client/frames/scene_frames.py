"""What every frame source yields: one scene's encoded image with a rectangle and time per frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SceneFrames:
    """One scene's frames, ready to send: an encoded image plus a rectangle per frame."""

    scene: str  # scene key (Stash scene id, checksum or file path)
    image: bytes  # encoded JPEG/PNG/WebP bytes
    rects: np.ndarray  # (N, 4) int32 x, y, w, h inside ``image``
    times: np.ndarray  # (N,) float64 seconds of each frame in the video (0 for stills)
    source: str  # file that errors name
    time_basis: str  # "duration" (true frame times), "vtt" (cue starts) or "still"

    @property
    def frames(self) -> int:
        return len(self.rects)
