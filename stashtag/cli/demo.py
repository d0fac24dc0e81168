"""``demo`` and ``smoke``: the bundled sample library through a real Triton."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from stashtag.cli.apps import app
from stashtag.cli.options import PresetOpt, RandomOpt
from stashtag_client.cli.common import console, fail, report_results
from stashtag_client.cli.setting_flags import with_settings
from stashtag_client.settings import Settings
from stashtag_core.errors import StashtagError


@app.command()
@with_settings("connection", fixed={"interactive": True})
def smoke(
    settings: Settings,
    sprite: Annotated[
        Path | None, typer.Option(help="Sprite JPEG (default: bundled sample).")
    ] = None,
    vtt: Annotated[Path | None, typer.Option(help="Its thumbnails VTT.")] = None,
) -> None:
    """Send a sprite sheet through the ensemble, OCR and CLIP text; print what came back."""
    from stashtag_client.wiring import server_access

    try:
        report = _smoke(settings.endpoints, sprite, vtt, server_access(settings))
    except (StashtagError, OSError, ValueError) as exc:
        fail(exc)
    typer.echo(json.dumps(report, indent=2))


def _smoke(url: str, sprite: Path | None, vtt: Path | None, access=None) -> dict:
    import numpy as np

    from stashtag.demo.samples import encode_jpeg, text_frame, write_sample
    from stashtag_client.frames.sprites import parse_vtt, rects_array
    from stashtag_client.inference.triton import TritonClient

    if sprite is None:
        sprite, vtt = write_sample(Path("runs") / "sample")
    vtt = vtt or sprite.with_name(sprite.name.replace("_sprite.jpg", "_thumbs.vtt"))
    rects = rects_array(parse_vtt(vtt.read_text(), str(vtt)))
    client = TritonClient(url, access=access)
    start = time.perf_counter()
    frames = client.tag_frames(sprite.read_bytes(), rects)
    tag_s = time.perf_counter() - start
    text = client.embed_text(["a photo of a bedroom", "an outdoor pool"])
    frame = text_frame("STASHTAG DEMO")
    lines = client.read_text(encode_jpeg(frame), np.array([[0, 0, 640, 360]], np.int32))
    counts = [len(d) for d in frames.detections]
    return {
        "sprite": str(sprite),
        "frames": len(rects),
        "tagger_seconds": round(tag_s, 3),
        "clip_embedding": list(frames.clip.shape),
        "clip_norm_first": round(float(np.linalg.norm(frames.clip[0])), 4),
        "dino_cls": list(frames.dino_cls.shape),
        "detections_per_frame": counts[:10] + (["…"] if len(counts) > 10 else []),
        "clip_text": list(text.shape),
        "text_vs_frame0_similarity": [round(float(v), 4) for v in text @ frames.clip[0]],
        "ocr": [{"text": line.text, "score": round(line.score, 3)} for line in lines],
        "note": "random weights: embeddings and detections are meaningless but real",
    }


@app.command()
def demo(
    preset: PresetOpt = None,
    repo: Annotated[Path, typer.Option(help="Repository to build/serve.")] = Path(
        "repos/tiny-python-ort"
    ),
    random_weights: RandomOpt = True,
    workdir: Annotated[Path, typer.Option(help="Where the sample library and results go.")] = Path(
        "runs/demo"
    ),
) -> None:
    """Offline demo: build the repository if needed, start Triton, tag a bundled sample library
    (sprite sheets, a video, a watermarked still) and print the tags."""
    from stashtag.cli.repo import build_or_fail
    from stashtag.demo.samples import write_sample_library
    from stashtag.repo import BuildSpec, RepoSettings, resolve_build
    from stashtag.server import ServerOptions, TritonServer, free_port
    from stashtag_client.directory import run_tag
    from stashtag_client.frames.discovery import discover
    from stashtag_client.settings import Settings
    from stashtag_client.tagging.vocabulary import load_vocabulary

    try:
        p, _ = resolve_build(repo, preset, "python-ort", default_preset="tiny")
        real = real_models_installed()
        saved = {d.detector.name for d in RepoSettings.load(repo).detectors}
        build_or_fail(
            BuildSpec(
                repo,
                p.name,
                "python-ort",
                if_missing=True,
                random_weights=random_weights,
                detectors=("content",) if real and "content" not in saved else (),
            )
        )
        if real:
            copy_photos(workdir / "library")
        library, studios = write_sample_library(workdir / "library")
        for suffix in ("", "-wal", "-shm"):  # every demo tags afresh
            (workdir / f"stashtag.db{suffix}").unlink(missing_ok=True)
        opts = ServerOptions(repo, free_port(), free_port(), free_port())
        with console.status("starting Triton…"), TritonServer(opts) as server:
            console.print(f"Triton ready: gRPC {opts.grpc_url} (log {server.log_path})")
            settings = Settings(endpoints=opts.grpc_url, store=str(workdir / "stashtag.db"))
            results, stats = run_tag(
                discover([library], video_width=160),
                settings,
                load_vocabulary(),
                studios,
                console,
                force=True,
            )
    except (StashtagError, ValueError, KeyError, OSError) as exc:
        fail(exc)
    report_results(results, workdir / "results.json", quiet=False)
    print_real_detections(workdir / "stashtag.db", real)
    console.print(
        f"{stats.frames} frames in {stats.wall_s:.1f} s = {stats.frames_per_s:.1f} frames/s, "
        f"client CPU {stats.cpu_ms_per_frame:.2f} ms/frame. CLIP, YOLO and DINOv2 have random "
        "weights here: their tags are meaningless but every number is real. Real weights: the "
        "OCR (PP-OCR, from rapidocr) names the studio"
        + (", NudeNet's detector finds the faces above." if real else "."),
        soft_wrap=True,
    )


def real_models_installed() -> bool:
    """Whether the nudenet and scikit-image packages are here: then the demo also serves
    NudeNet's real detector and tags scikit-image's photographs."""
    import importlib.util

    if not importlib.util.find_spec("nudenet") or not importlib.util.find_spec("skimage"):
        console.print(
            "[dim]real detector skipped: pip install 'stashtag[content,demo]' for NudeNet's "
            "detector (AGPL-3.0) and scikit-image's photographs[/dim]"
        )
        return False
    return True


def copy_photos(library: Path) -> None:
    """scikit-image's photographs into the library, at run time: none ships with stashtag."""
    import shutil

    from stashtag.demo.photos import PHOTOS, photo_path

    photos = library / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        shutil.copy(photo_path(name), photos)


def print_real_detections(store_path: Path, real: bool) -> None:
    """Every detection of the real content detector in the demo's photographs, with scores."""
    from rich.table import Table

    from stashtag_client.store import Store

    if not real:
        return
    table = Table(title="NudeNet's detector (real weights) on scikit-image's photographs")
    for column in ("photograph", "class", "score", "box x, y, w, h"):
        table.add_column(column)
    with Store(store_path) as store:
        for model_id in store.model_ids():
            for record in store.records(model_id):
                found = record.detected.get("content")
                if found is None or "/photos/" not in record.source.replace("\\", "/"):
                    continue
                name = Path(record.source).name
                rows = [d for frame in found.frames for d in frame]
                for x1, y1, x2, y2, score, cls in rows:
                    box = f"{x1:.0f}, {y1:.0f}, {x2 - x1:.0f}, {y2 - y1:.0f}"
                    table.add_row(name, found.classes[int(cls)], f"{score:.2f}", box)
                if not rows:
                    table.add_row(name, "[dim]nothing[/dim]", "", "")
    console.print(table)
