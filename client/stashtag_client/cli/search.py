"""``search``, ``similar`` and ``duplicates``: questions the store answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from stashtag_client.cli.apps import app
from stashtag_client.cli.common import (
    ModelIdOpt,
    OutOpt,
    console,
    fail,
    open_store,
    store_model_id,
)
from stashtag_client.cli.setting_flags import with_settings
from stashtag_client.settings import Settings
from stashtag_core.errors import StashtagError


@app.command()
@with_settings("connection", "store", fixed={"interactive": True})  # someone is waiting
def search(
    query: Annotated[str, typer.Argument(help='What to look for, e.g. "a beach at night".')],
    settings: Settings,
    limit: Annotated[int, typer.Option(help="How many scenes.")] = 10,
    model_id: ModelIdOpt = None,
) -> None:
    """Rank stored scenes by CLIP similarity to a text query (best frame and its time)."""
    import asyncio

    from stashtag_client.tagging.similarity import search as search_store
    from stashtag_client.tagging.textbank import embed_prompts
    from stashtag_client.wiring import endpoint_pool

    async def embed(db, mid, settings: Settings):
        async with endpoint_pool(settings, 1) as pool:
            return (await embed_prompts(pool, db, mid, [query]))[query]

    try:
        with open_store(Path(settings.store)) as db:
            mid = store_model_id(db, model_id)
            hits = search_store(db, mid, asyncio.run(embed(db, mid, settings)), limit)
    except (StashtagError, ValueError) as exc:
        fail(exc)
    for h in hits:
        typer.echo(f"{h.score:.4f}  {h.scene}  frame {h.frame} at {h.time:.1f} s")


@app.command()
@with_settings("store")
def similar(
    scene: Annotated[str, typer.Argument(help="Scene key as stored (see `tag` output).")],
    settings: Settings,
    limit: Annotated[int, typer.Option(help="How many scenes.")] = 10,
    model_id: ModelIdOpt = None,
) -> None:
    """Scenes that look like SCENE (DINOv2 scene embeddings, exact faiss index)."""
    from stashtag_client.tagging.similarity import SceneIndex

    try:
        with open_store(Path(settings.store)) as db:
            index = SceneIndex.from_store(db, store_model_id(db, model_id))
            neighbours = index.similar(scene, limit)
    except (StashtagError, KeyError) as exc:
        fail(exc)
    for n in neighbours:
        typer.echo(f"{n.score:.4f}  {n.scene}")


@app.command()
@with_settings("store")
def duplicates(
    settings: Settings,
    scene_threshold: Annotated[float, typer.Option(help="Scene cosine for a candidate.")] = 0.95,
    frame_threshold: Annotated[float, typer.Option(help="Frame cosine for a match.")] = 0.9,
    min_aligned: Annotated[float, typer.Option(help="Share of frames matched in order.")] = 0.8,
    out: OutOpt = None,
    model_id: ModelIdOpt = None,
) -> None:
    """Find duplicate scenes: candidates by scene embedding, confirmed by frame alignment."""
    from dataclasses import asdict

    from stashtag_client.tagging.similarity import find_duplicates

    try:
        with open_store(Path(settings.store)) as db:
            found = find_duplicates(
                db, store_model_id(db, model_id), scene_threshold, frame_threshold, min_aligned
            )
    except StashtagError as exc:
        fail(exc)
    rows = [asdict(d) for d in found]
    if out:
        out.write_text(json.dumps(rows, indent=2) + "\n")
    for d in found:
        typer.echo(
            f"{d.a}  ≡  {d.b}  (cosine {d.scene_cosine}, {d.aligned:.0%} frames aligned, "
            f"offset {d.offset_s:+.1f} s)"
        )
    console.print(f"{len(found)} duplicate pair(s)")
