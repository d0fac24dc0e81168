"""Directory mode end to end: discover scenes, tag them through Triton, map and report.

Used by ``stashtag tag`` and ``stashtag retag``; the Stash integration reuses the same pieces.
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from stashtag_client.frames.sources import SceneSource
from stashtag_client.inference.pipeline import SceneOutcome
from stashtag_client.session import TagSet
from stashtag_client.settings import Settings
from stashtag_client.store import Store
from stashtag_client.tagging.mapping import SceneResult, studio_label
from stashtag_client.tagging.vocabulary import Vocabulary
from stashtag_client.wiring import tagging_session


@dataclass
class RunStats:
    scenes: int = 0
    stored: int = 0
    skipped: int = 0
    errors: int = 0
    frames: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time (client overhead)
    endpoints: list[dict] = field(default_factory=list)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_ms_per_frame(self) -> float:
        return 1000 * self.cpu_s / self.frames if self.frames else 0.0


def _progress(console: Console, quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]tagging"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scenes · {task.fields[fps]:.1f} frames/s · {task.fields[errors]} errors"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )


async def tag_sources(
    sources: Sequence[SceneSource],
    store: Store,
    vocab: Vocabulary,
    settings: Settings,
    studios: list[str] | None = None,
    console: Console | None = None,
    force: bool = False,
    quiet: bool = False,
) -> tuple[list[SceneResult], RunStats]:
    """Tag ``sources`` (resuming from ``store`` unless ``force``) and map every scene."""
    console = console or Console(stderr=True)
    stats = RunStats(scenes=len(sources))
    start_wall, start_cpu = time.perf_counter(), time.process_time()

    def server_event(message: str) -> None:
        console.print(Text("server ", style="yellow") + Text(message), soft_wrap=True)

    paths = {src.scene: str(src.path) for src in sources}
    results: dict[str, SceneResult] = {}
    async with tagging_session(settings, store, vocab, server_event) as session:
        tagset = session.tagset
        with _progress(console, quiet) as progress:
            task = progress.add_task("tag", total=len(sources), fps=0.0, errors=0)

            def done(o: SceneOutcome) -> None:
                stats.frames += o.frames
                if o.status == "stored":
                    stats.stored += 1
                elif o.status == "skipped":
                    stats.skipped += 1
                else:
                    stats.errors += 1
                results[o.scene] = _mapped(o, tagset, store, studios, paths[o.scene])
                elapsed = time.perf_counter() - start_wall
                progress.update(
                    task, advance=1, fps=stats.frames / max(elapsed, 1e-9), errors=stats.errors
                )
                problem = ("error", "red", o.error) if o.status == "error" else None
                if o.warning:
                    problem = ("warning", "yellow", o.warning)
                if problem and not quiet:  # Text: file names may hold [brackets]
                    label, style, message = problem
                    progress.console.print(
                        Text(label + " ", style=style) + Text(message), soft_wrap=True
                    )

            await session.tag(sources, force, settings.ocr_frames, done, collect=False)
        stats.endpoints = session.status()
    stats.wall_s = time.perf_counter() - start_wall
    stats.cpu_s = time.process_time() - start_cpu
    return [results[src.scene] for src in sources], stats


def _mapped(
    outcome: SceneOutcome, tagset: TagSet, store: Store, studios: list[str] | None, path: str
) -> SceneResult:
    """A scene's tags as soon as it is answered, from the record it carries (a skipped scene's
    from the store): nothing is kept per scene but its result."""
    if outcome.status == "error":
        return SceneResult(outcome.scene, path, error=outcome.error)
    record = outcome.record or store.get(outcome.scene, tagset.model_id)
    return tagset.map(record, studios)


def retag_store(
    store: Store, vocab: Vocabulary, model_id: str, studios: list[str] | None = None
) -> list[SceneResult]:
    """Recompute every stored scene's tags with ``vocab``: no inference at all."""
    tagset = TagSet.from_store(store, model_id, vocab)
    return [tagset.map(r, studios) for r in store.records(model_id)]


def write_results(results: list[SceneResult], out: Path) -> None:
    """JSON (``.json``) or CSV (``.csv``) by the file's suffix."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(
                ["scene", "frames", "tags", "markers", "studio", "studio_from", "text", "error"]
            )
            for r in results:
                w.writerow(
                    [
                        r.scene,
                        r.frames,
                        "; ".join(f"{t.name} ({t.score:.2f})" for t in r.tags),
                        "; ".join(f"{m.tag} {m.start:.1f}-{m.end:.1f}s" for m in r.markers),
                        r.studio.studio if r.studio else "",
                        r.studio.source if r.studio else "",
                        " | ".join(r.text),
                        r.error,
                    ]
                )
    else:
        out.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")


def summary_table(results: list[SceneResult], limit: int = 50) -> Table:
    table = Table(title=f"{len(results)} scenes", show_lines=False)
    for col in ("scene", "frames", "tags", "markers", "studio / text"):
        table.add_column(col, overflow="fold")
    for r in results[:limit]:
        if r.error:
            table.add_row(Path(r.scene).name, "-", Text(r.error, style="red"), "", "")
            continue
        tags = ", ".join(t.name for t in r.tags[:6]) + (" …" if len(r.tags) > 6 else "")
        studio = studio_label(r) or " | ".join(r.text[:2])
        table.add_row(Path(r.scene).name, str(r.frames), tags or "-", str(len(r.markers)), studio)
    if len(results) > limit:
        table.caption = f"first {limit} of {len(results)} shown; all are in the output file"
    return table


def run_tag(
    sources,
    settings: Settings,
    vocab: Vocabulary,
    studios: list[str] | None = None,
    console: Console | None = None,
    force: bool = False,
    quiet: bool = False,
):
    """Synchronous wrapper for the CLI: the store is ``settings.store``."""
    with Store(Path(settings.store)) as store:
        return asyncio.run(
            tag_sources(list(sources), store, vocab, settings, studios, console, force, quiet)
        )
