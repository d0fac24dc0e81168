"""What an extra detector (``repo build --detector``) costs per frame: the detector alone on
its own model at its native square input, and the tagger ensemble with and without it."""

from __future__ import annotations

from dataclasses import dataclass

from stashtag.bench.measure import Request, VariantResult
from stashtag.bench.triton_runs import Call
from stashtag_core.modelspec import Detector


def alone_prefix(detector: str) -> str:
    return f"{detector} detector alone"


def alone_name(detector: str, concurrency: int) -> str:
    return f"{alone_prefix(detector)}, {concurrency} in flight"


def without_name(concurrency: int) -> str:
    # not "triton, dynamic batching…": that prefix is the sweep the best setting is chosen from
    return f"tagger without extra detectors, dynamic batching, {concurrency} in flight"


def detector_calls(sprites: list[Request], detector: Detector) -> list[Call]:
    """One call per sprite straight to the detector's graph model: its cells letterboxed to the
    detector's input as the server's preprocessing makes them."""
    from stashtag.processing.image import crop_frames, decode_image, letterbox_batch

    calls = []
    for jpeg, rects in sprites:
        frames = crop_frames(decode_image(jpeg, 10**8), rects)
        images, _ = letterbox_batch(frames, detector.image_size, detector.placement, detector.pad)
        calls.append((detector.name, {"image": images}, ("raw",), len(frames)))
    return calls


@dataclass
class DetectorCost:
    name: str
    alone_fps: float  # the detector's model alone, at its native size
    tagger_fps: float  # the best tagger setting, detectors included
    tagger_without_fps: float  # the same setting without the extra detectors
    ms_per_frame: float  # what the detectors add to each frame inside the ensemble
    share_of_tagger: float  # of the ensemble's time per frame


def detector_costs(
    detectors: tuple[Detector, ...], variants: list[VariantResult], best: VariantResult
) -> list[DetectorCost]:
    """Each detector's cost from the variants of one run. With several detectors, what the
    ensemble gains without them is split by their rates alone (the faster one costs less)."""
    by = {v.name: v for v in variants}
    without = by.get(without_name(best.concurrency or 0))
    if not detectors or not without or not best.fps_median or not without.fps_median:
        return []
    added = 1000 / best.fps_median - 1000 / without.fps_median
    alone = {
        d.name: next((v for v in variants if v.name.startswith(alone_prefix(d.name))), None)
        for d in detectors
    }
    weights = {n: 1 / v.fps_median for n, v in alone.items() if v and v.fps_median}
    total = sum(weights.values()) or 1.0
    out = []
    for d in detectors:
        if d.name not in weights:
            continue
        ms = added * weights[d.name] / total
        out.append(
            DetectorCost(
                d.name,
                alone[d.name].fps_median,
                best.fps_median,
                without.fps_median,
                round(ms, 3),
                round(ms / (1000 / best.fps_median), 3),
            )
        )
    return out
