"""``tag`` and ``retag``: files and folders, no Stash needed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from stashtag_client.cli.apps import app
from stashtag_client.cli.common import (
    ModelIdOpt,
    OutOpt,
    QuietOpt,
    StudiosOpt,
    console,
    fail,
    open_store,
    read_studios,
    report_results,
    store_model_id,
)
from stashtag_client.cli.setting_flags import with_settings
from stashtag_client.settings import Settings
from stashtag_core.errors import StashtagError


@app.command()
@with_settings("connection", "inference", "store", "vocabulary")
def tag(
    paths: Annotated[list[Path], typer.Argument(help="Videos, images, sprite+VTT pairs, folders.")],
    settings: Settings,
    out: OutOpt = None,
    studios: StudiosOpt = None,
    video_frames: Annotated[int, typer.Option(help="Frames taken from each video.")] = 81,
    video_width: Annotated[int, typer.Option(help="Width of video frames (px).")] = 320,
    force: Annotated[bool, typer.Option(help="Re-send scenes already in the store.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Tag files and folders (no Stash needed); resumes from the store."""
    from stashtag_client.directory import run_tag
    from stashtag_client.frames.discovery import Skipped, discover
    from stashtag_client.wiring import vocabulary

    try:
        vocab = vocabulary(settings)
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
@with_settings("store", "vocabulary")
def retag(
    settings: Settings,
    out: OutOpt = None,
    studios: StudiosOpt = None,
    model_id: ModelIdOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Recompute tags from stored embeddings with a new vocabulary: no inference."""
    from stashtag_client.directory import retag_store
    from stashtag_client.wiring import vocabulary

    start = time.perf_counter()
    try:
        with open_store(Path(settings.store)) as db:
            mid = store_model_id(db, model_id)
            results = retag_store(db, vocabulary(settings), mid, read_studios(studios))
    except (StashtagError, ValueError) as exc:
        fail(exc)
    report_results(results, out, quiet)
    console.print(f"retagged {len(results)} scenes in {time.perf_counter() - start:.2f} s")
