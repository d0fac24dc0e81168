"""``tag`` and ``retag``: files and folders, no Stash needed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from stashtag_client.cli.apps import app
from stashtag_client.cli.common import (
    ConfigOpt,
    OutOpt,
    QuietOpt,
    StoreOpt,
    StudiosOpt,
    VocabOpt,
    console,
    fail,
    open_store,
    read_studios,
    report_results,
    setting_option,
    store_model_id,
)
from stashtag_core.errors import StashtagError


@app.command()
def tag(
    paths: Annotated[list[Path], typer.Argument(help="Videos, images, sprite+VTT pairs, folders.")],
    url: Annotated[str | None, setting_option("endpoints")] = None,
    vocabulary: Annotated[str | None, setting_option("vocabulary")] = None,
    store: Annotated[str | None, setting_option("store")] = None,
    out: OutOpt = None,
    studios: StudiosOpt = None,
    in_flight: Annotated[int | None, setting_option("max_in_flight", "--in-flight")] = None,
    timeout: Annotated[float | None, setting_option("timeout_s", "--timeout")] = None,
    ocr_frames: Annotated[str | None, setting_option("ocr_frames")] = None,
    frame_budget: Annotated[str | None, setting_option("frame_budget")] = None,
    video_frames: Annotated[int, typer.Option(help="Frames taken from each video.")] = 81,
    video_width: Annotated[int, typer.Option(help="Width of video frames (px).")] = 320,
    force: Annotated[bool, typer.Option(help="Re-send scenes already in the store.")] = False,
    quiet: QuietOpt = False,
    server_key: Annotated[str | None, setting_option("server_key")] = None,
    tls_ca: Annotated[str | None, setting_option("tls_ca")] = None,
    interactive: Annotated[
        bool | None, setting_option("interactive", "--interactive/--bulk")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Tag files and folders (no Stash needed); resumes from the store."""
    from stashtag_client.directory import run_tag
    from stashtag_client.frames.discovery import Skipped, discover
    from stashtag_client.settings import Settings
    from stashtag_client.tagging.vocabulary import load_vocabulary

    flags = {
        "endpoints": url,
        "vocabulary": vocabulary,
        "store": store,
        "max_in_flight": in_flight,
        "timeout_s": timeout,
        "ocr_frames": ocr_frames,
        "frame_budget": frame_budget,
        "server_key": server_key,
        "tls_ca": tls_ca,
        "interactive": interactive,
    }
    try:
        settings = Settings.load(file=config, flags=flags)
        vocab = load_vocabulary(settings.vocabulary or None)
        skipped: list[Skipped] = []
        sources = list(discover(paths, video_frames, video_width, skipped))
        if skipped and not quiet:
            report_skipped(skipped)
        if not sources:
            raise StashtagError(
                f"no videos, images or sprite sheets under {', '.join(map(str, paths))}"
            )
        results, stats = run_tag(
            sources, settings, vocab, read_studios(studios), console, force, quiet
        )
    except (StashtagError, ValueError, OSError) as exc:
        fail(exc)
    report_results(results, out, quiet)
    console.print(
        f"{stats.stored} tagged, {stats.skipped} already stored, {stats.errors} errors · "
        f"{stats.frames} frames in {stats.wall_s:.1f} s = {stats.frames_per_s:.1f} frames/s · "
        f"client CPU {stats.cpu_ms_per_frame:.2f} ms/frame",
        soft_wrap=True,
    )
    if stats.errors:
        raise typer.Exit(2)


def report_skipped(skipped: list, shown: int = 10) -> None:
    """Name the files discovery passed over (the first few; a count of the rest)."""
    console.print(f"[yellow]passed over {len(skipped)} files that are no scene:[/yellow]")
    for s in skipped[:shown]:
        console.print(f"  {escape(str(s.path))}: {s.reason}", soft_wrap=True)
    if len(skipped) > shown:
        console.print(f"  … and {len(skipped) - shown} more")


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
    from stashtag_client.directory import retag_store
    from stashtag_client.tagging.vocabulary import load_vocabulary

    start = time.perf_counter()
    try:
        with open_store(store) as db:
            mid = store_model_id(db, model_id)
            results = retag_store(db, load_vocabulary(vocabulary), mid, read_studios(studios))
    except (StashtagError, ValueError) as exc:
        fail(exc)
    report_results(results, out, quiet)
    console.print(f"retagged {len(results)} scenes in {time.perf_counter() - start:.2f} s")
