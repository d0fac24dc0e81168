"""In-process baselines: eager PyTorch one frame at a time, ONNX Runtime one sprite per batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stashtag.bench.measure import Request, Sample
from stashtag_core.modelspec import ONNX_FILE, YOLO_MAX_DETECTIONS
from stashtag_core.presets import Preset

Runner = Callable[[Request], int]


def _frames(request: Request) -> list[np.ndarray]:
    from stashtag.processing.image import crop_frames, decode_image

    return crop_frames(decode_image(request[0], 10**8), request[1])


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when PyTorch sees a GPU, else ``cpu``; ``cuda`` without one is an
    error (a GPU benchmark that silently ran on the CPU would report the wrong machine)."""
    import torch

    device = device.lower()
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device {device!r}: give auto, cpu or cuda")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda': PyTorch sees no GPU here (torch.cuda.is_available())")
    return device


def _detectors(repo: Path, device: str) -> list[Callable[[list[np.ndarray]], None]]:
    """The repository's extra detectors, each a function of a batch of frames: letterbox,
    ONNX Runtime (their source is an ONNX file), NMS — the work the served ensemble does, so
    the baselines and Triton compare the same work."""
    from stashtag.processing.image import letterbox_batch
    from stashtag.processing.yolo import postprocess_batch
    from stashtag.repo import RepoSettings
    from stashtag.serving.runtime import make_session

    out = []
    for d in RepoSettings.load(repo).detector_specs:
        session = make_session(Path(repo) / d.name / "1" / ONNX_FILE, device=device)

        def run(frames: list[np.ndarray], d=d, session=session) -> None:
            boxed, geo = letterbox_batch(frames, d.image_size, d.placement, d.pad)
            raw = session.run(None, {"image": boxed})[0]
            limit = YOLO_MAX_DETECTIONS
            postprocess_batch(raw, geo, d.conf_threshold, d.iou_threshold, limit, d.agnostic_nms)

        out.append(run)
    return out


def eager_torch_runner(preset: Preset, device: str = "cpu", repo: Path | None = None) -> Runner:
    """Random-weight framework models run one frame at a time (PyTorch eager), as existing
    Stash taggers do. On ``cuda`` under fp16 autocast, as the GPU serving target runs, so the
    baseline is not slowed by a precision the served models do not use. ``repo``'s extra
    detectors run one frame at a time too, in ONNX Runtime (as NudeNet's own API runs)."""
    import contextlib

    import torch

    from stashtag.processing.image import letterbox_batch, prepare
    from stashtag.processing.yolo import postprocess_batch
    from stashtag_export.clip import create_model as clip_model
    from stashtag_export.dinov2 import create_model as dino_model
    from stashtag_export.yolo import create_model as yolo_model

    clip, yolo, dino = (
        clip_model(preset.clip, True).to(device),
        yolo_model(preset.yolo, True).to(device),
        dino_model(preset.dinov2, True).to(device),
    )

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).to(device).float() / 255

    def normaliser(arch) -> Callable[[np.ndarray], torch.Tensor]:
        # made once: a host-to-GPU copy of mean and std per frame would slow the baseline
        mean, std = (torch.tensor(v, device=device).view(1, 3, 1, 1) for v in (arch.mean, arch.std))
        return lambda x: (tensor(x) - mean) / std

    clip_norm, dino_norm = normaliser(preset.clip), normaliser(preset.dinov2)
    detectors = _detectors(repo, device) if repo is not None else []

    def precision():
        if device == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def run(request: Request) -> int:
        frames = _frames(request)
        with torch.no_grad(), precision():
            for f in frames:
                # every output is brought back to the host, as a tagger reading it must
                clip.encode_image(clip_norm(prepare([f], preset.clip.image_size, "crop"))).cpu()
                boxed, geo = letterbox_batch([f], preset.yolo.image_size)
                raw = yolo(tensor(boxed))[0].float().cpu().numpy()
                postprocess_batch(raw, geo, 0.25, 0.45, YOLO_MAX_DETECTIONS)
                dino(
                    pixel_values=dino_norm(prepare([f], preset.dinov2.image_size, "squash"))
                ).last_hidden_state.cpu()
                for detect in detectors:
                    detect([f])
        return len(frames)

    return run


def ort_runner(repo: Path, preset: Preset, device: str = "cpu") -> Runner:
    """The exported graphs in-process with ONNX Runtime, one request (sprite) per batch (on
    ``cuda`` through its CUDA execution provider when onnxruntime-gpu is installed), the
    repository's extra detectors included."""
    from stashtag.processing.image import letterbox_batch, prepare
    from stashtag.processing.yolo import postprocess_batch
    from stashtag.serving.runtime import make_session

    sessions = {
        m: make_session(Path(repo) / m / "1" / ONNX_FILE, device=device)
        for m in ("clip_image", "yolo", "dinov2")
    }
    detectors = _detectors(repo, device)

    def run(request: Request) -> int:
        frames = _frames(request)
        sessions["clip_image"].run(None, {"image": prepare(frames, preset.clip.image_size, "crop")})
        boxed, geo = letterbox_batch(frames, preset.yolo.image_size)
        raw = sessions["yolo"].run(None, {"image": boxed})[0]
        postprocess_batch(raw, geo, 0.25, 0.45, YOLO_MAX_DETECTIONS)
        sessions["dinov2"].run(None, {"image": prepare(frames, preset.dinov2.image_size, "squash")})
        for detect in detectors:
            detect(frames)
        return len(frames)

    return run


def time_inprocess(run: Runner, requests: list[Request]) -> Sample:
    start, lat = time.perf_counter(), []
    frames = 0
    for r in requests:
        t = time.perf_counter()
        frames += run(r)
        lat.append(time.perf_counter() - t)
    return Sample(frames, time.perf_counter() - start, lat)
