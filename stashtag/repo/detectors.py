"""Extra detectors of a repository: the ``--detector`` flag and their export.

``repo build --detector content`` adds NudeNet's detector from the installed ``nudenet``
package; ``--detector NAME=model.onnx[,classes=FILE][,placement=corner][,pad=N][,agnostic]
[,bgr]`` adds any YOLOv8-format ONNX export. The repository's settings remember them, so later
builds and ``serve`` keep them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from stashtag.repo.settings import SavedDetector
from stashtag_core.errors import StashtagError
from stashtag_core.modelspec import META_FILE, Detector, nudenet_detector
from stashtag_core.modelspec.detectors import NUDENET_NAME

NUDENET_SOURCE = "nudenet"  # the source of a detector taken from the installed package


def parse_detector_flag(text: str) -> SavedDetector:
    """The detector and source of one ``--detector`` value; errors say what is wrong."""
    from stashtag_export.detector import describe_onnx

    if text.strip() == NUDENET_NAME:
        return SavedDetector(nudenet_detector(), NUDENET_SOURCE)
    name, eq, rest = text.partition("=")
    if not eq or not rest:
        raise StashtagError(f"--detector {text!r}: give 'content' or NAME=model.onnx[,…]")
    path, *options = rest.split(",")
    opts: dict = {}
    for option in options:
        key, _, value = option.partition("=")
        if key == "classes":
            lines = Path(value).read_text(encoding="utf-8").splitlines()
            opts["classes"] = tuple(line.strip() for line in lines if line.strip())
        elif key == "placement":
            opts["placement"] = value
        elif key == "pad":
            opts["pad"] = int(value)
        elif key in ("agnostic", "bgr") and not value:
            opts["agnostic_nms" if key == "agnostic" else "bgr"] = True
        else:
            raise StashtagError(f"--detector {text!r}: unknown option {option!r}")
    if not Path(path).is_file():
        raise StashtagError(f"--detector {text!r}: {path} is not a file")
    bgr = opts.pop("bgr", False)
    detector = describe_onnx(name.strip(), Path(path), **opts)
    if bgr:
        detector = Detector.from_dict({**detector.as_dict(), "bgr": True})
    return SavedDetector(detector, str(Path(path).resolve()))


def export_detectors(
    repo: Path, detectors: list[SavedDetector], log: Callable[[str], None] = print
) -> dict[str, dict]:
    """Export each detector into ``repo`` and write its ``meta.json``; NudeNet's also gets its
    parity against NudeNet's own API on real photographs (when scikit-image is installed)."""
    from stashtag_export.common import version_dir
    from stashtag_export.detector import export_detector, export_nudenet
    from stashtag_export.onnx_io import write_meta

    results = {}
    for saved in detectors:
        detector, source = saved.detector, saved.source
        log(f"exporting detector {detector.name} ({source})…")
        if source == NUDENET_SOURCE:
            meta = export_nudenet(repo)
            meta["reference_parity"] = _nudenet_reference(repo, detector, log)
        else:
            meta = export_detector(detector, Path(source), repo, weights="user")
        write_meta(version_dir(repo, detector.name), meta)
        results[detector.name] = meta
    return results


def _nudenet_reference(repo: Path, detector: Detector, log: Callable[[str], None]) -> dict:
    from stashtag.demo.photos import PHOTOS, photo_path
    from stashtag.detector_reference import nudenet_parity

    try:
        paths = [photo_path(n) for n in PHOTOS]
    except StashtagError as exc:
        log(f"  {detector.name}: no parity against NudeNet's API ({exc})")
        return {"skipped": str(exc)}
    parity = nudenet_parity(repo / detector.name / "1" / "model.onnx", detector, paths)
    log(
        f"  {detector.name}: against NudeNet's own API on {len(paths)} photographs: boxes within"
        f" {parity['max_box_px']} px, scores within {parity['max_score_diff']},"
        f" {'same' if parity['all_matched'] else 'DIFFERENT'} detections"
    )
    return parity


def detector_metas(repo: Path, detectors: tuple[Detector, ...]) -> dict[str, Path]:
    """Where each detector's ``meta.json`` lives (its weights' identity for the model id)."""
    return {d.name: Path(repo) / d.name / "1" / META_FILE for d in detectors}


def sized_by_export(repo: Path, detectors: tuple[Detector, ...]) -> tuple[Detector, ...]:
    """``detectors`` with ``free_size`` as their exports say (graphs exported before input-size
    buckets, or a user's graph of one fixed size, run at their native square)."""
    out = []
    for d, meta in zip(detectors, detector_metas(repo, detectors).values(), strict=True):
        free = meta.is_file() and bool(json.loads(meta.read_text()).get("free_size"))
        out.append(replace(d, free_size=free))
    return tuple(out)
