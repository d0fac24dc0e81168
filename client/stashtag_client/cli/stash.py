"""``stash``: tag a Stash library from the shell, through the plugin's own task dispatch.

Every setting flag defaults to "not given", so a config file (``--config`` or
``$STASHTAG_CONFIG``) and ``STASHTAG_*`` variables apply unless a flag overrides them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from stashtag_client.cli.apps import app
from stashtag_client.cli.common import OutOpt, QuietOpt, console, fail
from stashtag_client.cli.setting_flags import with_settings
from stashtag_client.cli.stash_output import ReportFile, progress_bar, summary_table
from stashtag_client.settings import Settings
from stashtag_core.errors import DEBUG_ENV, StashtagError

WHAT_TASKS = {"scenes": "tag", "images": "tag-images", "galleries": "tag-galleries"}


@app.command()
@with_settings("connection", "inference", "store", "vocabulary", "stash", "writing", "describe")
def stash(
    settings: Settings,
    scenes: Annotated[
        str,
        typer.Option(help="queued | untagged | all | id:1,2,3 (images: all | queued | gallery:ID)"),
    ] = "queued",
    what: Annotated[str, typer.Option(help="scenes | images | galleries")] = "scenes",
    undo: Annotated[bool, typer.Option(help="Remove stashtag's tags and markers instead.")] = False,
    review: Annotated[
        bool, typer.Option(help="Carry out AI_Accept/AI_Reject review verdicts instead.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Re-run inference for stored scenes.")] = False,
    watch: Annotated[
        bool, typer.Option(help="Keep tagging the selection every --interval until stopped.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between --watch passes.")] = 300.0,
    out: OutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Tag scenes, images or galleries of a Stash library (the plugin runs the same code)."""
    from stashtag_client.stash.client import StashClient
    from stashtag_client.stash.http import StashConnection
    from stashtag_client.stash.plugin import PLUGIN_ID
    from stashtag_client.stash.sync import StashSync
    from stashtag_client.stash.tasks import run_task
    from stashtag_client.store import Store
    from stashtag_client.wiring import vocabulary as vocabulary_of

    verbose = bool(os.environ.get(DEBUG_ENV))

    def log(level: str, msg: str) -> None:
        if level in "td" and not verbose:
            return  # per-item details: with --debug (and in --out)
        console.print(f"[{level}] {msg}", markup=False, soft_wrap=True)

    try:
        if not settings.stash_url:
            raise StashtagError(
                "give the Stash URL: --stash-url, STASHTAG_STASH_URL or the config file"
            )
        if what not in WHAT_TASKS:
            raise StashtagError(f"--what {what!r}: scenes, images or galleries")
        client = StashClient(StashConnection.from_settings(settings))
        if settings.store == Settings().store:
            # no store named anywhere: the one the plugin of this Stash uses, if it is here
            shared = client.plugin_store(PLUGIN_ID)
            if shared is not None:
                settings = settings.replace(store=str(shared))
                console.print(f"store: {settings.store} (the Stash plugin's)")
        with Store(Path(settings.store)) as db:
            sync = StashSync(client, db, vocabulary_of(settings), settings, log)
            task = "undo" if undo else "review" if review else WHAT_TASKS[what]
            args = {"task": task, "scenes": scenes, "images": scenes, "force": force}
            if watch:
                if undo or review:
                    raise StashtagError("--watch tags at an interval: not with --undo or --review")
                from stashtag_client.stash.watch import watch as watch_loop

                watch_loop(lambda: run_task(sync, args, log), interval, sync.log)
                return
            results = ReportFile(out) if out else None
            try:
                with progress_bar(quiet) as progress:
                    output = run_task(sync, args, log, progress, results.write if results else None)
            finally:
                if results is not None:
                    results.close()
    except (StashtagError, ValueError) as exc:
        fail(exc)
    reports = output.get("reports")
    if reports is None:
        return  # undo and review log their summary
    if out:  # as `tag` does: a file, else JSON on stdout; the table on stderr
        console.print(f"{results.count} report(s) written to {out}")
    else:
        typer.echo(json.dumps(reports, indent=2))
    if not quiet:
        console.print(summary_table(reports, omitted=output.get("reports_omitted", 0)))
    errors = output.get("errors", 0)
    console.print(
        f"{output.get('tagged', len(reports) - errors)} item(s) tagged, {errors} error(s)"
        + (" (dry run: nothing written)" if settings.dry_run else "")
    )
    if errors:
        raise typer.Exit(2)
