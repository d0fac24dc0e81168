"""What ``stashtag stash`` shows and writes: a progress bar, a summary table, JSON or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
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


class ReportFile:
    """Reports written as they come (JSON array or CSV by the suffix): a library of any size
    never sits in memory, and a run stopped half-way leaves what it wrote readable."""

    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.csv = out.suffix.lower() == ".csv"
        self.file = out.open("w", newline="" if self.csv else None, encoding="utf-8")
        self.count = 0
        if self.csv:
            self.writer = csv.writer(self.file)
            self.writer.writerow(COLUMNS)
        else:
            self.file.write("[")

    def write(self, report) -> None:
        row = asdict(report)
        if self.csv:
            self.writer.writerow(
                ";".join(row[c]) if isinstance(row[c], list) else row[c] for c in COLUMNS
            )
        else:
            self.file.write(("," if self.count else "") + "\n  " + json.dumps(row))
        self.count += 1
        self.file.flush()

    def close(self) -> None:
        if not self.csv:
            self.file.write("\n]\n")
        self.file.close()


def summary_table(reports: list[dict], limit: int = 50, omitted: int = 0) -> Table:
    table = Table(title=f"{len(reports) + omitted} item(s)")
    for col in ("item", "status", "tags added", "markers", "studio / error"):
        table.add_column(col, overflow="fold")
    for r in reports[:limit]:
        last = Text(r["error"], style="red") if r["error"] else r["studio"]
        table.add_row(r["scene_id"], r["status"], ", ".join(r["added"]), str(r["markers"]), last)
    if len(reports) + omitted > limit:
        table.caption = f"first {limit} of {len(reports) + omitted}: --out writes them all"
    return table
