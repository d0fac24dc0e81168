"""The ``stashtag`` command line."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from stashtag.cli_common import (
    ModelIdOpt,
    StoreOpt,
    VocabOpt,
    console,
)
from stashtag.cli_common import fail as _fail
from stashtag.cli_common import open_store as _open_store
from stashtag.cli_common import store_model_id as _model_id
from stashtag.cli_learning import calibrate, learn, learned_app
from stashtag.errors import StashtagError
from stashtag.modelspec import TARGETS
from stashtag.protocol import KEY_ENV, TLS_CA_ENV

app = typer.Typer(
    help="Tag Stash video libraries with CLIP, YOLOv8, PP-OCR and DINOv2 served by Triton.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
repo_app = typer.Typer(help="Build and check Triton model repositories.", no_args_is_help=True)
app.add_typer(repo_app, name="repo")
plugin_app = typer.Typer(help="The Stash plugin.", no_args_is_help=True)
app.add_typer(plugin_app, name="plugin")

PresetOpt = Annotated[
    str, typer.Option(help="Model preset: small (CPU), large (GPU), tiny (tests).")
]
RepoOpt = Annotated[Path, typer.Option("--repo", help="Model repository folder.")]
TARGET_HELP = "python-ort | python-torch (pip Triton, CPU or GPU) | onnxruntime | tensorrt (NGC)"

ServerKeyOpt = Annotated[
    str,
    typer.Option(
        "--server-key",
        envvar=KEY_ENV,
        show_default=False,
        help="Key of a guarded Triton server (stashtag serve --key).",
    ),
]
TlsCaOpt = Annotated[
    Path | None,
    typer.Option("--tls-ca", envvar=TLS_CA_ENV, help="PEM CA to trust for a TLS Triton server."),
]
PriorityOpt = Annotated[
    bool,
    typer.Option(
        "--interactive/--bulk", help="Ask the server to serve these requests before bulk jobs."
    ),
]


def _access(server_key: str, tls_ca: Path | None, interactive: bool = False):
    from stashtag.client.transport import ServerAccess
    from stashtag.protocol import PRIORITY_BULK, PRIORITY_INTERACTIVE

    priority = PRIORITY_INTERACTIVE if interactive else PRIORITY_BULK
    return ServerAccess.from_env(server_key or None, tls_ca, priority=priority)


RandomOpt = Annotated[
    bool,
    typer.Option(
        "--random-weights",
        help="Random weights of the real architectures: no model hub needed (tests, offline demo).",
    ),
]
ONLY_HELP = "Comma-separated subset of clip,yolo,dinov2,ocr."
Fp16Opt = Annotated[
    bool,
    typer.Option("--fp16", help="fp16 compute in CLIP/YOLO/DINOv2 graphs (GPU), checked vs fp32."),
]


def _check_target(target: str) -> None:
    if target not in TARGETS:
        _fail(ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}"))


def _export(
    preset_name: str, repo: Path, random_weights: bool, only: str, target: str, fp16: bool = False
) -> dict:
    from stashtag.export.pipeline import EXPORTERS, export_all
    from stashtag.export.tensorrt import build_plans
    from stashtag.presets import get_preset

    names = tuple(n.strip() for n in only.split(",") if n.strip()) if only else EXPORTERS
    unknown = set(names) - set(EXPORTERS)
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; {ONLY_HELP}")
    results = export_all(
        get_preset(preset_name),
        repo,
        random_weights,
        names,
        log=console.print,
        fp16=fp16,
        torchscript=target == "python-torch",
    )
    if target == "tensorrt":
        build_plans(repo, log=lambda m: console.print(m))
    return results


@app.command()
def export(
    preset: PresetOpt = "small",
    repo: RepoOpt = Path("model_repository"),
    random_weights: RandomOpt = False,
    only: Annotated[str, typer.Option(help=ONLY_HELP)] = "",
    target: Annotated[
        str, typer.Option(help="tensorrt also builds fp16 plans; python-torch also TorchScript.")
    ] = "python-ort",
    fp16: Fp16Opt = False,
) -> None:
    """Export the preset's models to ONNX (with parity checks) into a repository."""
    _check_target(target)
    try:
        results = _export(preset, repo, random_weights, only, target, fp16)
    except (StashtagError, ValueError, KeyError) as exc:
        _fail(exc)
    console.print(f"[green]exported[/green] {', '.join(results)} into {repo}")


@repo_app.command("build")
def repo_build(
    preset: PresetOpt = "small",
    target: Annotated[str, typer.Option(help=TARGET_HELP)] = "python-ort",
    out: Annotated[Path, typer.Option(help="Repository folder to write.")] = Path(
        "model_repository"
    ),
    instances: Annotated[int, typer.Option(help="Instances of each heavy model.")] = 1,
    export_models: Annotated[
        bool, typer.Option("--export/--no-export", help="Also export the weights.")
    ] = True,
    random_weights: RandomOpt = False,
    only: Annotated[str, typer.Option(help=ONLY_HELP)] = "",
    fp16: Fp16Opt = False,
    max_pixels: Annotated[
        int | None, typer.Option(help="Refuse images over this many pixels (default 40 M).")
    ] = None,
    max_frames: Annotated[
        int | None, typer.Option(help="Refuse requests with more frames (default 128).")
    ] = None,
    max_image_mb: Annotated[
        float | None, typer.Option(help="Refuse encoded images over this size (default 32).")
    ] = None,
    gpus: Annotated[
        str | None,
        typer.Option(
            help="GPUs for the graph models, e.g. 0,1 (instances on each); 'none' resets."
        ),
    ] = None,
    if_missing: Annotated[
        bool, typer.Option(help="Export only when weights are missing (containers on restart).")
    ] = False,
    device_resize: Annotated[
        bool | None,
        typer.Option(
            "--device-resize/--host-resize",
            help="python-torch: send each frame once at its own size and resize it in the graph"
            " models (on their GPU) instead of in preprocess on the CPU. Saved in the repository.",
        ),
    ] = None,
) -> None:
    """Write configs (from the model specs) and, unless --no-export, the weights.

    Request limits given here are saved in the repository and kept by later builds."""
    from dataclasses import replace

    from stashtag.presets import get_preset
    from stashtag.repository import (
        missing_files,
        read_limits,
        save_device_resize,
        save_gpus,
        save_limits,
        specs_for,
        write_configs,
    )

    _check_target(target)
    if device_resize and target != "python-torch":
        _fail(StashtagError("--device-resize needs --target python-torch"))
    try:
        complete = not missing_files(out, specs_for(out, get_preset(preset)), target)
        if export_models and not (if_missing and complete):
            _export(preset, out, random_weights, only, target, fp16)
        elif export_models:
            console.print(f"{out} already has every file {target} needs: not exporting")
        if device_resize is not None:
            out.mkdir(parents=True, exist_ok=True)
            save_device_resize(out, device_resize)
        if gpus is not None:
            out.mkdir(parents=True, exist_ok=True)
            ids = () if gpus.strip().lower() == "none" else _gpu_list(gpus)
            save_gpus(out, ids)
        changes = {
            k: v
            for k, v in (
                ("max_pixels", max_pixels),
                ("max_frames", max_frames),
                ("max_encoded_bytes", int(max_image_mb * 2**20) if max_image_mb else None),
            )
            if v is not None
        }
        if changes:
            out.mkdir(parents=True, exist_ok=True)
            save_limits(out, replace(read_limits(out), **changes))
        specs = specs_for(out, get_preset(preset), instances)
        written = write_configs(out, specs, target)
    except (StashtagError, ValueError, KeyError) as exc:
        _fail(exc)
    console.print(f"wrote {len(written)} config/entry files for {len(specs)} models into {out}")
    missing = missing_files(out, specs, target)
    if missing:
        console.print("[yellow]still missing (run with --export):[/yellow] " + ", ".join(missing))


def _gpu_list(text: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(g) for g in text.split(",") if g.strip())
    except ValueError:
        raise StashtagError(f"--gpus {text!r}: give GPU numbers like 0,1 (or 'none')") from None
    if not ids or min(ids) < 0 or len(set(ids)) != len(ids):
        raise StashtagError(f"--gpus {text!r}: give distinct GPU numbers like 0,1")
    return ids


@repo_app.command("check")
def repo_check(
    repo: RepoOpt = Path("model_repository"),
    preset: PresetOpt = "small",
    target: Annotated[str, typer.Option(help=TARGET_HELP)] = "python-ort",
) -> None:
    """List files a repository still needs before Triton can serve it."""
    from stashtag.presets import get_preset
    from stashtag.repository import missing_files, specs_for

    missing = missing_files(repo, specs_for(repo, get_preset(preset)), target)
    if missing:
        for m in missing:
            console.print(f"missing: {m}")
        raise typer.Exit(1)
    console.print(f"[green]{repo} is complete[/green]")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the server the same way Ctrl-C does


@app.command()
def serve(
    repo: RepoOpt = Path("model_repository"),
    grpc_port: Annotated[int, typer.Option(help="gRPC port.")] = 8001,
    http_port: Annotated[int, typer.Option(help="HTTP port (health, metadata).")] = 8000,
    metrics_port: Annotated[int, typer.Option(help="Prometheus metrics port.")] = 8002,
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    log_file: Annotated[Path | None, typer.Option(help="Triton's log file.")] = None,
    verbose: Annotated[int, typer.Option(help="Triton log verbosity.")] = 0,
    key: Annotated[
        str,
        typer.Option(
            envvar=KEY_ENV,
            show_default=False,
            help="Shared-server key: clients must send it (stashtag-key header) for admin"
            " calls (repository, config, statistics, shared memory, logging, trace).",
        ),
    ] = "",
    key_inference: Annotated[
        bool, typer.Option(help="Require the key for inference and metadata too.")
    ] = False,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            envvar="STASHTAG_TLS_CERT",
            help="PEM certificate: gRPC over TLS (HTTP stays on loopback).",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(envvar="STASHTAG_TLS_KEY", help="PEM private key of --tls-cert.")
    ] = None,
    tritonserver: Annotated[
        Path | None,
        typer.Option(help="Another tritonserver binary (NGC: /opt/tritonserver/bin/tritonserver)."),
    ] = None,
    backend_directory: Annotated[
        Path | None, typer.Option(help="Its backends (NGC: /opt/tritonserver/backends).")
    ] = None,
) -> None:
    """Start the bundled Triton server on a repository until Ctrl-C / SIGTERM.

    Remote model loading is always off (--model-control-mode=none): no client can make the
    server load code.
    """
    from stashtag.server import ServerOptions, TritonServer

    if key_inference and not key:
        _fail(StashtagError("--key-inference needs --key (or STASHTAG_SERVER_KEY)"))
    if (tls_cert is None) != (tls_key is None):
        _fail(StashtagError("TLS needs both --tls-cert and --tls-key"))
    opts = ServerOptions(
        repo,
        grpc_port,
        http_port,
        metrics_port,
        address,
        log_file,
        verbose,
        key=key or None,
        key_inference=key_inference,
        tls_cert=tls_cert,
        tls_key=tls_key,
        binary=tritonserver,
        backend_directory=backend_directory,
    )
    server = TritonServer(opts)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        start = time.perf_counter()
        with console.status("starting Triton…"):
            server.start()
            server.wait_ready()
        console.print(
            f"[green]Triton ready[/green] in {time.perf_counter() - start:.1f} s — "
            f"gRPC {'grpcs://' if opts.tls else ''}{opts.grpc_url}  HTTP {opts.http_url}  "
            f"metrics {opts.metrics_url}  (log {server.log_path})"
            + ("  · key required" if opts.key else "")
        )
        while server.process and server.process.poll() is None:
            time.sleep(0.5)
        _fail(StashtagError(f"tritonserver exited; {server.log_summary()}"))
    except KeyboardInterrupt:
        console.print("stopping Triton…")
    except StashtagError as exc:
        _fail(exc)
    finally:
        server.stop()


@app.command()
def smoke(
    url: Annotated[str, typer.Option(help="Triton gRPC address.")] = "127.0.0.1:8001",
    sprite: Annotated[
        Path | None, typer.Option(help="Sprite JPEG (default: bundled sample).")
    ] = None,
    vtt: Annotated[Path | None, typer.Option(help="Its thumbnails VTT.")] = None,
    server_key: ServerKeyOpt = "",
    tls_ca: TlsCaOpt = None,
) -> None:
    """Send a sprite sheet through the ensemble, OCR and CLIP text; print what came back."""
    try:
        report = _smoke(url, sprite, vtt, _access(server_key, tls_ca, interactive=True))
    except (StashtagError, OSError) as exc:
        _fail(exc)
    typer.echo(json.dumps(report, indent=2))


def _smoke(url: str, sprite: Path | None, vtt: Path | None, access=None) -> dict:
    import numpy as np

    from stashtag.client.sprites import parse_vtt, rects_array
    from stashtag.client.triton import TritonClient
    from stashtag.samples import encode_jpeg, text_frame, write_sample

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
    preset: PresetOpt = "tiny",
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
    from stashtag.client.runner import TagOptions, run_tag
    from stashtag.client.sources import discover
    from stashtag.client.vocabulary import load_vocabulary
    from stashtag.presets import get_preset
    from stashtag.repository import missing_files, specs_for, write_configs
    from stashtag.samples import write_sample_library
    from stashtag.server import ServerOptions, TritonServer, free_port

    try:
        specs = specs_for(repo, get_preset(preset))
        if missing_files(repo, specs, "python-ort"):
            _export(preset, repo, random_weights, "", "python-ort")
        write_configs(repo, specs_for(repo, get_preset(preset)), "python-ort")
        library, studios = write_sample_library(workdir / "library")
        opts = ServerOptions(repo, free_port(), free_port(), free_port())
        with console.status("starting Triton…"), TritonServer(opts) as server:
            console.print(f"Triton ready: gRPC {opts.grpc_url} (log {server.log_path})")
            results, stats = run_tag(
                discover([library], video_width=160),
                workdir / "stashtag.db",
                load_vocabulary(),
                TagOptions(opts.grpc_url, force=True),
                studios,
                console,
            )
    except (StashtagError, ValueError, KeyError, OSError) as exc:
        _fail(exc)
    _report(results, workdir / "results.json", quiet=False)
    console.print(
        f"{stats.frames} frames in {stats.wall_s:.1f} s = {stats.frames_per_s:.1f} frames/s, "
        f"client CPU {stats.cpu_ms_per_frame:.2f} ms/frame. Random weights: the tags are "
        "meaningless but every number is real; the OCR (real PP-OCR weights) names the studio.",
        soft_wrap=True,
    )


def _studios(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StashtagError(f"{path}: cannot read studio list ({exc.strerror})") from None
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def _report(results, out: Path | None, quiet: bool) -> None:
    from stashtag.client.runner import summary_table, write_results

    if out:
        write_results(results, out)
        console.print(f"results written to {out}")
    else:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    if not quiet:
        console.print(summary_table(results))


OutOpt = Annotated[Path | None, typer.Option(help="Write results to .json or .csv.")]
StudiosOpt = Annotated[
    Path | None, typer.Option(help="Studio names, one a line, for OCR matching.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")]


@app.command()
def tag(
    paths: Annotated[list[Path], typer.Argument(help="Videos, images, sprite+VTT pairs, folders.")],
    url: Annotated[
        str, typer.Option(help="Triton gRPC endpoint(s): host:port[=weight],...")
    ] = "127.0.0.1:8001",
    vocabulary: VocabOpt = None,
    store: StoreOpt = Path("stashtag.db"),
    out: OutOpt = None,
    studios: StudiosOpt = None,
    in_flight: Annotated[int, typer.Option(help="Requests in flight at most.")] = 16,
    timeout: Annotated[
        float, typer.Option(help="Seconds per request at first (doubled when the server is busy).")
    ] = 600.0,
    ocr_frames: Annotated[str, typer.Option(help="none | all | ends:K")] = "ends:4",
    video_frames: Annotated[int, typer.Option(help="Frames taken from each video.")] = 81,
    video_width: Annotated[int, typer.Option(help="Width of video frames (px).")] = 320,
    force: Annotated[bool, typer.Option(help="Re-send scenes already in the store.")] = False,
    quiet: QuietOpt = False,
    server_key: ServerKeyOpt = "",
    tls_ca: TlsCaOpt = None,
    interactive: PriorityOpt = False,
) -> None:
    """Tag files and folders (no Stash needed); resumes from the store."""
    from stashtag.client.runner import TagOptions, run_tag
    from stashtag.client.sources import discover
    from stashtag.client.vocabulary import load_vocabulary

    try:
        vocab = load_vocabulary(vocabulary)
        sources = list(discover(paths, video_frames, video_width))
        if not sources:
            raise StashtagError(
                f"no videos, images or sprite sheets under {', '.join(map(str, paths))}"
            )
        options = TagOptions(
            url,
            in_flight,
            timeout,
            ocr_frames=ocr_frames,
            force=force,
            quiet=quiet,
            access=_access(server_key, tls_ca, interactive),
        )
        results, stats = run_tag(sources, store, vocab, options, _studios(studios), console)
    except (StashtagError, ValueError, OSError) as exc:
        _fail(exc)
    _report(results, out, quiet)
    console.print(
        f"{stats.stored} tagged, {stats.skipped} already stored, {stats.errors} errors · "
        f"{stats.frames} frames in {stats.wall_s:.1f} s = {stats.frames_per_s:.1f} frames/s · "
        f"client CPU {stats.cpu_ms_per_frame:.2f} ms/frame",
        soft_wrap=True,
    )
    if stats.errors:
        raise typer.Exit(2)


@app.command()
def retag(
    vocabulary: VocabOpt = None,
    store: StoreOpt = Path("stashtag.db"),
    out: OutOpt = None,
    studios: StudiosOpt = None,
    model_id: Annotated[
        str | None, typer.Option(help="Model id, if the store holds several.")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Recompute tags from stored embeddings with a new vocabulary: no inference."""
    from stashtag.client.runner import retag_store
    from stashtag.client.vocabulary import load_vocabulary

    start = time.perf_counter()
    try:
        with _open_store(store) as db:
            mid = _model_id(db, model_id)
            results = retag_store(db, load_vocabulary(vocabulary), mid, _studios(studios))
    except (StashtagError, ValueError) as exc:
        _fail(exc)
    _report(results, out, quiet)
    console.print(f"retagged {len(results)} scenes in {time.perf_counter() - start:.2f} s")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='What to look for, e.g. "a beach at night".')],
    url: Annotated[str, typer.Option(help="Triton gRPC endpoint(s) for the text model.")] = (
        "127.0.0.1:8001"
    ),
    store: StoreOpt = Path("stashtag.db"),
    limit: Annotated[int, typer.Option(help="How many scenes.")] = 10,
    model_id: ModelIdOpt = None,
    server_key: ServerKeyOpt = "",
    tls_ca: TlsCaOpt = None,
) -> None:
    """Rank stored scenes by CLIP similarity to a text query (best frame and its time)."""
    import asyncio

    from stashtag.client.similarity import search as search_store
    from stashtag.client.textbank import embed_prompts
    from stashtag.client.transport import EndpointPool, parse_endpoints

    async def embed(db, mid):
        access = _access(server_key, tls_ca, interactive=True)
        async with EndpointPool(parse_endpoints(url), 1, access=access) as pool:
            return (await embed_prompts(pool, db, mid, [query]))[query]

    try:
        with _open_store(store) as db:
            mid = _model_id(db, model_id)
            hits = search_store(db, mid, asyncio.run(embed(db, mid)), limit)
    except (StashtagError, ValueError) as exc:
        _fail(exc)
    for h in hits:
        typer.echo(f"{h.score:.4f}  {h.scene}  frame {h.frame} at {h.time:.1f} s")


@app.command()
def similar(
    scene: Annotated[str, typer.Argument(help="Scene key as stored (see `tag` output).")],
    store: StoreOpt = Path("stashtag.db"),
    limit: Annotated[int, typer.Option(help="How many scenes.")] = 10,
    model_id: ModelIdOpt = None,
) -> None:
    """Scenes that look like SCENE (DINOv2 scene embeddings, exact faiss index)."""
    from stashtag.client.similarity import SceneIndex

    try:
        with _open_store(store) as db:
            index = SceneIndex.from_store(db, _model_id(db, model_id))
            neighbours = index.similar(scene, limit)
    except (StashtagError, KeyError) as exc:
        _fail(exc)
    for n in neighbours:
        typer.echo(f"{n.score:.4f}  {n.scene}")


@app.command()
def duplicates(
    store: StoreOpt = Path("stashtag.db"),
    scene_threshold: Annotated[float, typer.Option(help="Scene cosine for a candidate.")] = 0.95,
    frame_threshold: Annotated[float, typer.Option(help="Frame cosine for a match.")] = 0.9,
    min_aligned: Annotated[float, typer.Option(help="Share of frames matched in order.")] = 0.8,
    out: OutOpt = None,
    model_id: ModelIdOpt = None,
) -> None:
    """Find duplicate scenes: candidates by scene embedding, confirmed by frame alignment."""
    from dataclasses import asdict

    from stashtag.client.similarity import find_duplicates

    try:
        with _open_store(store) as db:
            found = find_duplicates(
                db, _model_id(db, model_id), scene_threshold, frame_threshold, min_aligned
            )
    except StashtagError as exc:
        _fail(exc)
    rows = [asdict(d) for d in found]
    if out:
        out.write_text(json.dumps(rows, indent=2) + "\n")
    for d in found:
        typer.echo(
            f"{d.a}  ≡  {d.b}  (cosine {d.scene_cosine}, {d.aligned:.0%} frames aligned, "
            f"offset {d.offset_s:+.1f} s)"
        )
    console.print(f"{len(found)} duplicate pair(s)")


@app.command()
def stash(
    url: Annotated[str, typer.Option(help="Stash base URL, e.g. http://localhost:9999.")],
    api_key: Annotated[
        str,
        typer.Option(envvar="STASHTAG_STASH_API_KEY", help="Stash API key (Settings → Security)."),
    ] = "",
    triton: Annotated[str, typer.Option(help="Triton endpoint(s) host:port[=weight],...")] = (
        "127.0.0.1:8001"
    ),
    scenes: Annotated[str, typer.Option(help="queued | untagged | all | id:1,2,3")] = "queued",
    mode: Annotated[str, typer.Option(help="apply | suggest")] = "apply",
    vocabulary: VocabOpt = None,
    store: StoreOpt = Path("stashtag.db"),
    markers: Annotated[bool, typer.Option("--markers/--no-markers")] = True,
    studio: Annotated[bool, typer.Option("--studio/--no-studio")] = True,
    overwrite_studio: Annotated[bool, typer.Option(help="Replace a scene's studio.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Report what would change; write nothing.")] = False,
    undo: Annotated[bool, typer.Option(help="Remove stashtag's tags and markers instead.")] = False,
    force: Annotated[bool, typer.Option(help="Re-run inference for stored scenes.")] = False,
    confirm_learned: Annotated[
        str,
        typer.Option(help="Learned tags to apply, comma-separated (* = all); others: suggested."),
    ] = "",
    strategy: Annotated[
        str, typer.Option(help="append | only-new | replace-own | overwrite (docs/policy.md)")
    ] = "append",
    only_new_any: Annotated[
        bool, typer.Option(help="only-new: skip scenes with any tag, not only stashtag's.")
    ] = False,
    allow_overwrite: Annotated[
        bool, typer.Option(help="Let overwrite replace your own tags (saved; --undo restores).")
    ] = False,
    allow: Annotated[str, typer.Option(help="Only apply these tags (comma-separated).")] = "",
    deny: Annotated[str, typer.Option(help="Never apply these tags (comma-separated).")] = "",
    review_below: Annotated[
        float | None, typer.Option(help="Suggest (not apply) tags scoring under this.")
    ] = None,
    review: Annotated[
        bool, typer.Option(help="Carry out AI_Accept/AI_Reject review verdicts instead.")
    ] = False,
    what: Annotated[
        str,
        typer.Option(help="scenes | images (--scenes all|queued|gallery:ID) | galleries"),
    ] = "scenes",
    watch: Annotated[
        bool, typer.Option(help="Keep tagging the selection every --interval until stopped.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between --watch passes.")] = 300.0,
    describe: Annotated[
        bool, typer.Option(help="Write a short description into empty scene details.")
    ] = False,
    describe_endpoint: Annotated[
        str, typer.Option(help="OpenAI-compatible local model server for --describe.")
    ] = "",
    describe_model: Annotated[str, typer.Option(help="Model name there.")] = "local-model",
    describe_overwrite: Annotated[
        bool, typer.Option(help="--describe also over details you wrote.")
    ] = False,
    server_key: ServerKeyOpt = "",
    tls_ca: TlsCaOpt = None,
    interactive: PriorityOpt = False,
) -> None:
    """Tag scenes of a Stash library from the shell (the plugin runs the same code)."""
    import dataclasses

    from stashtag.client.descriptions import DescribeSettings
    from stashtag.client.plugin import confirmed_names, names_list
    from stashtag.client.rules import with_overrides
    from stashtag.client.stash import StashClient, StashConnection
    from stashtag.client.stash_sync import SceneReport, StashSync, SyncSettings, run_sync
    from stashtag.client.store import Store
    from stashtag.client.vocabulary import load_vocabulary

    settings = SyncSettings(
        triton,
        mode,
        markers=markers,
        studio=studio,
        overwrite_studio=overwrite_studio,
        dry_run=dry_run,
        server_key=server_key or None,
        tls_ca=str(tls_ca) if tls_ca else None,
        interactive=interactive,
        confirmed_learned=confirmed_names(confirm_learned),
        strategy=strategy,
        only_new_any=only_new_any,
        allow_overwrite=allow_overwrite,
        describe=describe,
        describe_overwrite=describe_overwrite,
        description=DescribeSettings(endpoint=describe_endpoint, model=describe_model),
    )
    try:
        with Store(store) as db:
            vocab = load_vocabulary(vocabulary)
            policy = with_overrides(vocab.policy, names_list(allow), names_list(deny), review_below)
            sync = StashSync(
                StashClient(StashConnection(url, api_key)),
                db,
                dataclasses.replace(vocab, policy=policy),
                settings,
                log=lambda level, msg: console.print(
                    f"[{level}] {msg}", markup=False, soft_wrap=True
                ),
            )
            if undo:
                changed = sync.undo(sync.scenes(scenes))
                console.print(f"removed stashtag's tags/markers from {changed} scene(s)")
                return
            if review:
                from stashtag.client.review import apply_review

                done = apply_review(sync)
                for message in done.errors:
                    console.print(f"[red]error[/red] {message}", soft_wrap=True)
                console.print(
                    f"{done.scenes} scene(s) reviewed: {len(done.accepted)} accepted, "
                    f"{len(done.rejected)} rejected"
                )
                return
            if watch:
                from stashtag.client.watch import watch as watch_loop

                watch_loop(lambda: run_sync(sync, scenes, force), interval, sync.log)
                return
            if what not in ("scenes", "images", "galleries"):
                raise StashtagError(f"--what {what!r}: scenes, images or galleries")
            if what == "scenes":
                reports = run_sync(sync, scenes, force)
            else:
                from stashtag.client.plugin import tag_images_or_galleries

                task = "tag-images" if what == "images" else "tag-galleries"
                out = tag_images_or_galleries(
                    sync, task, {"images": scenes}, lambda f: None, sync.log
                )
                reports = [SceneReport(**r) for r in out["reports"]]
    except (StashtagError, ValueError) as exc:
        _fail(exc)
    from dataclasses import asdict

    typer.echo(json.dumps([asdict(r) for r in reports], indent=2))
    errors = sum(r.status == "error" for r in reports)
    console.print(
        f"{len(reports) - errors} scene(s) tagged, {errors} error(s)"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    if errors:
        raise typer.Exit(2)


@app.command()
def bench(
    repo: Annotated[Path, typer.Option(help="Exported repository to benchmark.")] = Path(
        "repos/tiny-python-ort"
    ),
    preset: PresetOpt = "tiny",
    sprites: Annotated[int, typer.Option(help="Sprite sheets per variant and round.")] = 8,
    grid: Annotated[int, typer.Option(help="Sprite grid: 9 gives Stash's 81 frames.")] = 9,
    repeats: Annotated[int, typer.Option(help="Interleaved rounds.")] = 3,
    sweep: Annotated[str, typer.Option(help="In-flight requests to sweep.")] = "1,2,4,8,16",
    eager: Annotated[bool, typer.Option("--eager/--no-eager", help="Eager PyTorch baseline.")] = (
        True
    ),
    frame_requests: Annotated[
        int, typer.Option(help="Single-frame requests per round (0: skip that variant).")
    ] = 81,
    clients: Annotated[
        int, typer.Option(help="Client processes at once for the fairness run (0: skip).")
    ] = 4,
    client_concurrency: Annotated[int, typer.Option(help="In flight per client there.")] = 4,
    client_loops: Annotated[
        int, typer.Option(help="Passes over the sprites each client makes there.")
    ] = 3,
    null_loops: Annotated[
        int, typer.Option(help="Passes over the sprites against a trivial model (0: skip).")
    ] = 20,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune",
            help="Also search batching delay, batch sizes and instances; write the best into"
            " REPO (tuning.json + configs).",
        ),
    ] = False,
    tune_repeats: Annotated[int, typer.Option(help="Runs per tuning trial (median).")] = 2,
    device: Annotated[
        str,
        typer.Option(
            help="Where the in-process baselines run: auto (a GPU when PyTorch sees one), cpu,"
            " cuda. The server runs where the repository's configs say (repo build --gpus)."
        ),
    ] = "auto",
    compare: Annotated[
        Path | None, typer.Option(help="An earlier bench.json: report the change against it.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for bench.json, bench.md and plots.")] = Path(
        "runs/bench"
    ),
) -> None:
    """Measure the pipeline against baselines (eager PyTorch, ORT, Triton ±batching, several
    clients, the client alone) in one run."""
    import json

    from stashtag.bench import compare as compare_reports
    from stashtag.bench import run_bench, to_markdown, write_report
    from stashtag.presets import get_preset
    from stashtag.repository import missing_files, specs_for

    try:
        previous = None
        if compare is not None:
            try:
                previous = json.loads(compare.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise StashtagError(f"--compare {compare}: {exc}") from None
        p = get_preset(preset)
        missing = missing_files(repo, specs_for(repo, p), "python-ort")
        if missing:
            raise StashtagError(
                f"{repo} is incomplete ({missing[0]} …): run `stashtag repo build"
                f" --preset {preset} --out {repo}` first"
            )
        points = tuple(int(c) for c in sweep.split(",") if c.strip())
        if not points or min(points) < 1:
            raise StashtagError(f"--sweep {sweep!r}: give in-flight counts ≥ 1, e.g. 1,4,16")
        report = run_bench(
            repo,
            p,
            sprites,
            repeats,
            points,
            eager,
            log=console.print,
            grid=grid,
            frame_limit=frame_requests,
            clients=clients,
            client_concurrency=client_concurrency,
            client_loops=client_loops,
            null_loops=null_loops,
            tune=tune,
            tune_repeats=tune_repeats,
            device=device,
        )
    except (StashtagError, ValueError) as exc:
        _fail(exc)
    paths = write_report(report, out, previous)
    typer.echo(to_markdown(report))
    if previous is not None:
        typer.echo(compare_reports(previous, report))
    console.print("wrote " + ", ".join(str(p) for p in paths))


@plugin_app.command("build")
def plugin_build(
    out: Annotated[Path, typer.Option(help="Folder to serve as a Stash plugin source.")] = Path(
        "dist/plugin"
    ),
) -> None:
    """Build the plugin zip and the index.yml of a Stash plugin source."""
    from stashtag.pluginpkg import build

    try:
        archive, index = build(out)
    except (ValueError, OSError) as exc:
        _fail(exc)
    console.print(
        f"wrote {archive} and {index}: serve {out} over HTTP and add "
        f"<url>/index.yml in Stash → Settings → Plugins → Available plugins"
    )


app.command()(learn)
app.command()(calibrate)
app.add_typer(learned_app, name="learned")


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
