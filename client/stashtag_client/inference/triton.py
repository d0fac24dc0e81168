"""Synchronous gRPC calls to the stashtag Triton models (tensor names from the model specs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from stashtag_client.inference.grpc_client import Triton
from stashtag_client.inference.transport import ServerAccess
from stashtag_core.modelspec import CLIP_TEXT, OCR, TAGGER, frame_list
from stashtag_core.modelspec.detectors import detector_outputs

FrameIndices = Sequence[int] | np.ndarray  # a model's frame list


@dataclass(frozen=True)
class FrameResults:
    """What the ``tagger`` ensemble returns for one request's frames."""

    clip: np.ndarray  # (N, D) L2-normalised CLIP image embeddings
    dino_cls: np.ndarray  # (N, E)
    dino_patch_mean: np.ndarray  # (N, E)
    detections: list[np.ndarray]  # per frame (K, 6): x1 y1 x2 y2 score class, frame pixels
    # extra detectors asked for (e.g. "content"): per frame (K, 6), as ``detections``
    detected: dict[str, list[np.ndarray]] = field(default_factory=dict)
    # per-model frame budgets: the frames each listed model saw (its rows; others saw all)
    seen: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class TextLine:
    frame: int
    text: str
    score: float
    box: np.ndarray  # (4, 2) corner points in frame pixels


def unpad(detections: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """The padded ``(N, max, 6)`` detections cut to each frame's count."""
    return [d[:n] for d, n in zip(detections, counts.reshape(-1), strict=True)]


# The tagger's outputs of each frame model (FRAME_MODELS keys).
MODEL_OUTPUTS = {
    "clip": TAGGER.outputs[:1],
    "dino": TAGGER.outputs[1:3],
    "yolo": TAGGER.outputs[3:5],
}


def tagger_outputs(
    detectors: Sequence[str], frames: Mapping[str, FrameIndices] | None = None
) -> tuple[str, ...]:
    """The tagger outputs to ask for: the fixed ones plus each extra detector's two, less those
    of models whose frame list in ``frames`` is empty (Triton then skips those models)."""
    frames = frames or {}
    wanted = [m for m in MODEL_OUTPUTS if len(frames.get(m, (0,)))]
    return (
        *(o for m in wanted for o in MODEL_OUTPUTS[m]),
        *(o for d in detectors if len(frames.get(d, (0,))) for o in detector_outputs(d)),
    )


def unpack_tagger(out: dict, detectors: Iterable[str]) -> tuple:
    """``(clip, dino_cls, dino_patch, detections, {detector: detections})`` from a tagger
    answer; what was not asked for (a model with an empty frame list) comes back empty."""
    empty = np.zeros((0, 0), np.float32)
    clip, dino_cls, dino_patch = (out.get(n, empty) for n in TAGGER.outputs[:3])
    dets, counts = TAGGER.outputs[3:5]
    detections = unpad(out[dets], out[counts]) if dets in out else []
    detected = {
        d: detector_answer(out, d) if detector_outputs(d)[0] in out else [] for d in detectors
    }
    return clip, dino_cls, dino_patch, detections, detected


def frame_lists(frames: Mapping[str, FrameIndices] | None) -> dict[str, np.ndarray]:
    """The tagger's optional inputs for per-model frame lists."""
    return {
        frame_list(m): np.asarray(idx, np.int32).reshape(-1) for m, idx in (frames or {}).items()
    }


def detector_answer(out: dict, detector: str) -> list[np.ndarray]:
    """One extra detector's per-frame detections from a tagger answer."""
    dets, counts = detector_outputs(detector)
    return unpad(out[dets], out[counts])


class TritonClient:
    """A thin synchronous client for one endpoint: smoke tests and scripts (runs use the pool)."""

    def __init__(
        self, url: str, timeout_s: float = 60.0, access: ServerAccess | None = None
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.access = access or ServerAccess()
        self.client = Triton(*self.access.channel(url), headers=self.access.headers)

    def _infer(self, model: str, inputs: dict[str, np.ndarray], outputs: Sequence[str]) -> dict:
        return self.client.infer(
            model, inputs, outputs, timeout_s=self.timeout_s, priority=self.access.priority
        )

    def tag_frames(
        self,
        encoded: bytes,
        rects: np.ndarray,
        detectors: Sequence[str] = (),
        frames: Mapping[str, Sequence[int]] | None = None,
    ) -> FrameResults:
        """Send one encoded image (a sprite sheet or a frame) with its frame rectangles; also
        read the outputs of the repository's extra ``detectors`` named. ``frames`` lists, per
        model (``clip``, ``yolo``, ``dino`` or a detector), the frames it must see; a model
        with an empty list runs on none and its outputs come back empty."""
        feed = TAGGER.feed(np.frombuffer(encoded, np.uint8), np.asarray(rects, np.int32))
        out = self._infer(
            TAGGER.model, {**feed, **frame_lists(frames)}, tagger_outputs(detectors, frames)
        )
        seen = {m: np.asarray(idx, np.int64) for m, idx in (frames or {}).items()}
        clip, dino_cls, dino_patch, dets, detected = unpack_tagger(out, detectors)
        return FrameResults(clip, dino_cls, dino_patch, dets, detected, seen)

    def embed_text(self, prompts: list[str]) -> np.ndarray:
        """CLIP text embeddings, tokenised on the server."""
        text = np.array([[p.encode("utf-8")] for p in prompts], dtype=np.object_)
        (embedding,) = CLIP_TEXT.unpack(
            self._infer(CLIP_TEXT.model, CLIP_TEXT.feed(text), CLIP_TEXT.outputs)
        )
        return embedding

    def read_text(self, encoded: bytes, rects: np.ndarray) -> list[TextLine]:
        """OCR every frame; one :class:`TextLine` per recognised line."""
        feed = OCR.feed(np.frombuffer(encoded, np.uint8), np.asarray(rects, np.int32))
        out = self._infer(OCR.model, feed, OCR.outputs)
        return [
            TextLine(int(f), t.decode("utf-8"), float(s), b)
            for t, s, b, f in zip(*OCR.unpack(out), strict=True)
        ]

    def ready(self) -> bool:
        return self.client.ready()

    def close(self) -> None:
        self.client.close()
