"""What every frame source yields: one scene's encoded image with a rectangle and time per frame,
and, where the source has them, sharper views of the frames OCR reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OcrView:
    """Frames for OCR at a better resolution than the tagger's: one encoded image, a rectangle
    per frame. ``frames`` names the scene frame each rectangle shows (-1: none of them, such as
    Stash's screenshot)."""

    image: bytes
    rects: np.ndarray  # (K, 4) int32 x, y, w, h inside ``image``
    frames: np.ndarray  # (K,) int64
    source: str  # "screenshot", "video", "image", "sprite" or "frames": reported with the studio


# OCR frame indices → views of them (or of the scene) better than the tagger's frames. Called
# only when OCR runs, in a worker thread; an InputError means "none": OCR falls back to the cells.
OcrFinder = Callable[[np.ndarray], list[OcrView]]


@dataclass(frozen=True)
class SceneFrames:
    """One scene's frames, ready to send: an encoded image plus a rectangle per frame."""

    scene: str  # scene key (Stash scene id, checksum or file path)
    image: bytes  # encoded JPEG/PNG/WebP bytes
    rects: np.ndarray  # (N, 4) int32 x, y, w, h inside ``image``
    times: np.ndarray  # (N,) float64 seconds of each frame in the video (0 for stills)
    source: str  # file that errors name
    time_basis: str  # "duration" (true frame times), "vtt" (cue starts) or "still"
    kind: str = "sprite"  # what ``image`` is: "sprite", "frames" (decoded video) or "image"
    ocr_finder: OcrFinder | None = None

    @property
    def frames(self) -> int:
        return len(self.rects)

    def own_view(self, subset: np.ndarray) -> OcrView:
        """The tagger's own frames ``subset`` as an OCR view: the last resort."""
        subset = np.asarray(subset, np.int64)
        return OcrView(self.image, self.rects[subset], subset, self.kind)

    def ocr_views(self, subset: np.ndarray) -> tuple[list[OcrView], str]:
        """What OCR reads for the frames ``subset``: the finder's sharper views, then the
        tagger's own frames for what they left out; and why the finder gave none (or "")."""
        views, note = [], ""
        if self.ocr_finder is not None and len(subset):
            from stashtag_core.errors import InputError

            try:
                views = [v for v in self.ocr_finder(subset) if len(v.rects)]
            except InputError as exc:
                note = f"no full-size frames for OCR ({exc}); read {self.kind} frames"
        if any(v.source == "screenshot" for v in views):
            return views, note  # a full-size frame of the scene: the cells add only cost
        covered = {int(i) for v in views for i in v.frames}
        rest = np.array([i for i in subset if int(i) not in covered], np.int64)
        if len(rest):
            views.append(self.own_view(rest))
        return views, note
