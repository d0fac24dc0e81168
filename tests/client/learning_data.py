"""Synthetic stored libraries with a planted concept, for learning and calibration tests.

Frame embeddings are random unit vectors; in a "concept" scene a share of the frames is pulled
towards one fixed direction in both CLIP and DINOv2 space (like a pattern seen in some frames
of a scene). Which scenes hold the concept is known, so precision and recall can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stashtag_client.store import SceneRecord, Store

CLIP_DIM, DINO_DIM = 64, 48


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


@dataclass
class Library:
    model_id: str
    concept: list[str]  # scene keys holding the concept
    other: list[str]
    clip_direction: np.ndarray


def planted_library(
    store: Store,
    scenes: int = 120,
    concept_scenes: int = 24,
    frames: int = 20,
    share: float = 0.4,
    strength: float = 0.6,  # how far concept frames lean to the concept
    seed: int = 0,
    model_id: str = "synthetic",
) -> Library:
    rng = np.random.default_rng(seed)
    c_clip = _unit(rng.normal(size=CLIP_DIM))
    c_dino = _unit(rng.normal(size=DINO_DIM))
    keys = [f"{i + 1}" for i in range(scenes)]
    concept = set(rng.choice(keys, concept_scenes, replace=False))
    for key in keys:
        clip = _unit(rng.normal(size=(frames, CLIP_DIM)))
        dino = _unit(rng.normal(size=(frames, DINO_DIM)))
        if key in concept:
            start = rng.integers(0, frames - int(frames * share) + 1)
            span = slice(start, start + int(frames * share))  # one stretch of the scene
            clip[span] = _unit(clip[span] + strength * c_clip)
            dino[span] = _unit(dino[span] + strength * c_dino)
        store.put(
            SceneRecord(
                scene=key,
                model_id=model_id,
                source=f"/lib/{key}.mp4",
                time_basis="duration",
                times=np.arange(frames, dtype=np.float64) * 5.0,
                clip=clip,
                dino_cls=dino,
                dino_patch=dino,
                detections=[np.zeros((0, 6), np.float32)] * frames,
            )
        )
    return Library(
        model_id,
        sorted(concept, key=int),
        sorted(set(keys) - concept, key=int),
        c_clip,
    )
