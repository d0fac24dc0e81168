"""``learn``, ``learned list|delete`` and ``calibrate``.

All three work on the store alone (no Triton); labels come from Stash, or for ``learn`` from a
file of scene keys when the library was tagged from files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stashtag_client.cli.apps import app, learned_app
from stashtag_client.cli.common import ModelIdOpt, console, fail, open_store, store_model_id
from stashtag_client.cli.setting_flags import with_settings
from stashtag_client.settings import Settings
from stashtag_core.errors import StashtagError


def _keys(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StashtagError(f"{path}: cannot read scene keys ({exc.strerror})") from None
    return [k.strip() for k in lines if k.strip() and not k.lstrip().startswith("#")]


def _sync(settings: Settings, db):
    """The labels' source: Stash, per the settings (flags over env and config file)."""
    from stashtag_client.stash.client import StashClient
    from stashtag_client.stash.http import StashConnection
    from stashtag_client.stash.sync import StashSync
    from stashtag_client.wiring import vocabulary

    if not settings.stash_url:
        raise StashtagError(
            "give the Stash URL (--stash-url or STASHTAG_STASH_URL): labels come from Stash"
            " (learn also takes --positives FILE instead)"
        )
    client = StashClient(StashConnection.from_settings(settings))
    return StashSync(client, db, vocabulary(settings), settings)


def _metrics_table(tags, with_date: bool = False) -> Table:
    import time

    columns = ["tag", "ex.", "neg.", "rej.", "prec.", "rec.", "AP", "thr.", "adds"]
    table = Table(*columns, *(["learned"] if with_date else []), caption=LEGEND)
    table.columns[0].no_wrap = True
    for t in tags:
        m = t.metrics
        row = [t.name, str(m.positives), str(m.negatives), str(m.rejected)]
        row += [f"{m.precision:.2f}", f"{m.recall:.2f}", f"{m.average_precision:.2f}"]
        row += [f"{t.threshold:.2f}", str(m.would_add)]
        if with_date:
            row.append(time.strftime("%Y-%m-%d", time.localtime(t.created)))
        table.add_row(*row)
    return table


LEGEND = (
    "ex./neg./rej.: examples, negatives, rejections; prec./rec./AP: cross-validated against "
    "your tags; adds: other scenes it would tag"
)


@app.command()
@with_settings("stash", "store", "vocabulary", "dry_run")
def learn(
    tags: Annotated[list[str], typer.Argument(help="Tag name(s) to learn.")],
    settings: Settings,
    positives: Annotated[
        Path | None,
        typer.Option(help="Without Stash: a file of example scene keys, one a line."),
    ] = None,
    model_id: ModelIdOpt = None,
) -> None:
    """Learn a custom tag from scenes you tagged (≥ 5) with the stored embeddings; retag and
    tag then apply it like any other tag. Precision/recall are cross-validated against your
    own tags, so scenes you have not tagged yet but that show it count against precision."""
    from stashtag_client.tagging.learned import LearnError, learn_tag, save_learned

    learned, failed = [], {}
    dry_run = settings.dry_run
    try:
        with open_store(Path(settings.store)) as db:
            if positives is not None:
                if len(tags) != 1:
                    raise StashtagError("--positives takes one tag at a time")
                mid = store_model_id(db, model_id)
                try:
                    learned = [learn_tag(tags[0], db, mid, _keys(positives))]
                except LearnError as exc:
                    failed[tags[0]] = str(exc)
                if learned and not dry_run:
                    save_learned(db, learned[0])
            else:
                from stashtag_client.stash.learning import learn_from_stash

                sync = _sync(settings, db)
                learned, failed = learn_from_stash(sync, tags)
    except (StashtagError, ValueError) as exc:
        fail(exc)
    if learned:
        console.print(_metrics_table(learned))
        console.print(
            "dry run: nothing saved"
            if dry_run
            else f"saved {len(learned)} learned tag(s); `stashtag retag` applies them"
        )
    for name, why in failed.items():
        console.print(f"[red]not learned[/red] {name}: {why}", soft_wrap=True)
    if failed:
        raise typer.Exit(2)


@learned_app.command("list")
@with_settings("store")
def learned_list(settings: Settings, model_id: ModelIdOpt = None) -> None:
    """Learned tags with their cross-validated figures and thresholds."""
    from stashtag_client.tagging.learned import load_learned

    try:
        with open_store(Path(settings.store)) as db:
            tags = load_learned(db, store_model_id(db, model_id))
    except StashtagError as exc:
        fail(exc)
    console.print(_metrics_table(tags, with_date=True) if tags else "no learned tags")


@learned_app.command("delete")
@with_settings("store")
def learned_delete(
    names: Annotated[list[str] | None, typer.Argument(help="Learned tag names.")] = None,
    *,
    settings: Settings,
    all_: Annotated[bool, typer.Option("--all", help="Delete every learned tag.")] = False,
    model_id: ModelIdOpt = None,
) -> None:
    """Delete learned tags from the store (the plugin's task also takes them off Stash's
    scenes; from the shell, `stashtag stash --strategy replace-own` does)."""
    from stashtag_client.tagging.learned import delete_learned

    if not names and not all_:
        fail(StashtagError("name the learned tags to delete, or give --all"))
    try:
        with open_store(Path(settings.store)) as db:
            gone = delete_learned(db, store_model_id(db, model_id), None if all_ else names)
    except StashtagError as exc:
        fail(exc)
    missing = sorted({n.casefold() for n in names or []} - {g.casefold() for g in gone})
    console.print(f"deleted {len(gone)} learned tag(s): {', '.join(gone) or '-'}")
    if missing:
        console.print(f"[red]not learned[/red]: {', '.join(missing)}")
        raise typer.Exit(2)


@app.command()
@with_settings("stash", "store", "vocabulary", "dry_run", "learning")
def calibrate(
    settings: Settings,
    reset: Annotated[bool, typer.Option(help="Drop calibrated thresholds instead.")] = False,
) -> None:
    """Tune per-tag thresholds from the tags you kept and removed (and AI_Incorrect scenes);
    shows precision/recall before and after. No inference."""
    from stashtag_client.stash.learning import calibrate_from_stash
    from stashtag_client.tagging.thresholds import reset_thresholds

    dry_run = settings.dry_run
    try:
        with open_store(Path(settings.store)) as db:
            sync = _sync(settings, db)
            if reset:
                n = 0 if dry_run else reset_thresholds(db, sync.store_model_id())
                console.print(f"dropped {n} calibrated threshold(s)")
                return
            results = calibrate_from_stash(sync, settings.calibrate_min_labels)
    except StashtagError as exc:
        fail(exc)
    table = Table("tag", "kind", "kept", "removed", "threshold", "precision", "recall", "note")
    for c in results:
        table.add_row(
            c.tag,
            c.kind,
            str(c.positives),
            str(c.negatives),
            f"{c.old:.2f} → {c.new:.2f}" if c.changed else f"{c.old:.2f}",
            f"{c.precision_before:.2f} → {c.precision_after:.2f}" if not c.note else "",
            f"{c.recall_before:.2f} → {c.recall_after:.2f}" if not c.note else "",
            c.note,
        )
    console.print(table)
    changed = sum(c.changed for c in results)
    console.print(
        f"{changed} threshold(s) changed" + (" (dry run: nothing saved)" if dry_run else "")
    )
