"""What the client commands share: console, error exit, options, reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from stashtag_core.errors import StashtagError


def read_studios(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StashtagError(f"{path}: cannot read studio list ({exc.strerror})") from None
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def report_results(results, out: Path | None, quiet: bool) -> None:
    from stashtag_client.directory import summary_table, write_results

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

console = Console(stderr=True)

ModelIdOpt = Annotated[str | None, typer.Option(help="Model id, if the store holds several.")]


def fail(exc: Exception) -> None:
    """Print ``exc`` as an error and exit 1."""
    console.print("[red]error:[/red]", escape(str(exc)), soft_wrap=True)
    raise typer.Exit(1)


def open_store(path: Path):
    from stashtag_client.store import Store

    if not path.is_file():
        raise StashtagError(f"{path}: no store yet; run `stashtag tag` first")
    return Store(path)


def store_model_id(db, model_id: str | None) -> str:
    """``model_id`` if the store has it; else the store's only model id."""
    ids = db.model_ids()
    if model_id:
        if model_id not in ids:
            raise StashtagError(f"model id {model_id!r} not in the store (has {ids})")
        return model_id
    if len(ids) != 1:
        raise StashtagError(f"the store holds models {ids}: pick one with --model-id")
    return ids[0]
