"""What the ``stashtag`` commands share: the console, error exit, store options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from stashtag.errors import StashtagError

console = Console(stderr=True)

VocabOpt = Annotated[Path | None, typer.Option(help="Vocabulary YAML (default: the shipped one).")]
StoreOpt = Annotated[Path, typer.Option(help="Embedding store (SQLite).")]
ModelIdOpt = Annotated[str | None, typer.Option(help="Model id, if the store holds several.")]


def fail(exc: Exception) -> None:
    """Print ``exc`` as an error and exit 1."""
    console.print("[red]error:[/red]", escape(str(exc)), soft_wrap=True)
    raise typer.Exit(1)


def open_store(path: Path):
    from stashtag.client.store import Store

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
