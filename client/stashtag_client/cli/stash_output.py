"""What ``stashtag stash`` shows and writes: a progress bar, a summary table, JSON or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from stashtag_client.cli.common import console

COLUMNS = ("scene_id", "status", "added", "removed", "markers", "studio", "error")


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Callable[[float], None]]:
    """A bar fed the task's own progress (the share of the selection written back)."""
    if quiet:
        yield lambda _fraction: None
        return
    bar = Progress(
        TextColumn("[bold]tagging"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% written"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task("tagging", total=1.0)
        yield lambda fraction: bar.update(task, completed=fraction)


def write_reports(reports: list[dict], out: Path) -> None:
    """JSON (``.json``) or CSV (``.csv``, lists joined with ``;``) by the file's suffix."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            for r in reports:
                writer.writerow(";".join(r[c]) if isinstance(r[c], list) else r[c] for c in COLUMNS)
    else:
        out.write_text(json.dumps(reports, indent=2), encoding="utf-8")


def summary_table(reports: list[dict], limit: int = 50) -> Table:
    table = Table(title=f"{len(reports)} item(s)")
    for col in ("item", "status", "tags added", "markers", "studio / error"):
        table.add_column(col, overflow="fold")
    for r in reports[:limit]:
        last = Text(r["error"], style="red") if r["error"] else r["studio"]
        table.add_row(r["scene_id"], r["status"], ", ".join(r["added"]), str(r["markers"]), last)
    if len(reports) > limit:
        table.caption = f"first {limit} of {len(reports)}: --out writes them all"
    return table
