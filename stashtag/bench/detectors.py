"""What an extra detector (``repo build --detector``) costs per frame: the detector alone on
its own model at its native square input, and the tagger ensemble with and without it."""

from __future__ import annotations

from dataclasses import dataclass

from stashtag.bench.compute import ComputeReport
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
    compute_share: float  # of the graph models' compute time in the final pass (Triton's stats)
    ms_per_frame: float  # that share of the final pass's time per frame
    tagger_fps: float  # the best tagger setting, detectors included
    tagger_without_fps: float  # the same setting without the extra detectors
    rate_ms_per_frame: float  # 1000/with − 1000/without: noisy where the detector is cheap


def detector_costs(
    detectors: tuple[Detector, ...],
    variants: list[VariantResult],
    best: VariantResult,
    compute: ComputeReport,
    final_fps: float,
) -> list[DetectorCost]:
    """Each detector's cost from one run: its share of the ensemble's compute time (robust),
    and the difference of the tagger's rates with and without the detectors (which a noisy
    machine can drown when the detector is a small part of the work)."""
    by = {v.name: v for v in variants}
    without = by.get(without_name(best.concurrency or 0))
    computed = {m.name: m.compute_s for m in compute.models}
    total = sum(computed.values())
    out = []
    for d in detectors:
        alone = next((v for v in variants if v.name.startswith(alone_prefix(d.name))), None)
        if alone is None or d.name not in computed or not total or not final_fps:
            continue
        share = computed[d.name] / total
        rate = (
            1000 / best.fps_median - 1000 / without.fps_median
            if without and without.fps_median and best.fps_median
            else 0.0
        )
        out.append(
            DetectorCost(
                d.name,
                alone.fps_median,
                round(share, 3),
                round(share * 1000 / final_fps, 2),
                best.fps_median,
                without.fps_median if without else 0.0,
                round(rate, 2),
            )
        )
    return out
