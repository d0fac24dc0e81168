"""``stash``: tag a Stash library from the shell (the plugin runs the same code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from stashtag_client.cli.apps import app
from stashtag_client.cli.common import (
    PriorityOpt,
    ServerKeyOpt,
    StoreOpt,
    TlsCaOpt,
    VocabOpt,
    console,
    fail,
)
from stashtag_core.errors import StashtagError


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

    from stashtag_client.stash.client import StashClient, StashConnection
    from stashtag_client.stash.plugin import confirmed_names, names_list
    from stashtag_client.stash.settings import SceneReport, SyncSettings
    from stashtag_client.stash.sync import StashSync, run_sync
    from stashtag_client.store import Store
    from stashtag_client.tagging.descriptions import DescribeSettings
    from stashtag_client.tagging.rules import with_overrides
    from stashtag_client.tagging.vocabulary import load_vocabulary

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
                from stashtag_client.stash.review import apply_review

                done = apply_review(sync)
                for message in done.errors:
                    console.print(f"[red]error[/red] {message}", soft_wrap=True)
                console.print(
                    f"{done.scenes} scene(s) reviewed: {len(done.accepted)} accepted, "
                    f"{len(done.rejected)} rejected"
                )
                return
            if watch:
                from stashtag_client.stash.watch import watch as watch_loop

                watch_loop(lambda: run_sync(sync, scenes, force), interval, sync.log)
                return
            if what not in ("scenes", "images", "galleries"):
                raise StashtagError(f"--what {what!r}: scenes, images or galleries")
            if what == "scenes":
                reports = run_sync(sync, scenes, force)
            else:
                from stashtag_client.stash.plugin import tag_images_or_galleries

                task = "tag-images" if what == "images" else "tag-galleries"
                out = tag_images_or_galleries(
                    sync, task, {"images": scenes}, lambda f: None, sync.log
                )
                reports = [SceneReport(**r) for r in out["reports"]]
    except (StashtagError, ValueError) as exc:
        fail(exc)
    from dataclasses import asdict

    typer.echo(json.dumps([asdict(r) for r in reports], indent=2))
    errors = sum(r.status == "error" for r in reports)
    console.print(
        f"{len(reports) - errors} scene(s) tagged, {errors} error(s)"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    if errors:
        raise typer.Exit(2)
