"""Every task stashtag runs against Stash, dispatched by one function for the plugin and the
``stash`` command alike. Messages go to ``log(level, text)`` (Stash's levels: t, d, i, w, e) and
progress to ``progress(0..1)``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict

from stashtag_client.settings import names_list
from stashtag_client.stash.sync import StashSync, run_sync
from stashtag_client.stash.workflow import DUPLICATE_TAG, SceneReport, Tally
from stashtag_core.errors import StashtagError

REPORTS_KEPT = 1000  # per-item reports in a task's output; counts cover every item
Log = Callable[[str, str], None]
Progress = Callable[[float], None]


def _quiet(_fraction: float) -> None:
    pass


def run_task(
    sync: StashSync,
    args: dict,
    log: Log,
    progress: Progress = _quiet,
    on_report: Callable[[SceneReport], None] | None = None,
) -> dict:
    """Run one task (``args["task"]``) or hook (``args["hookContext"]``): the plugin and the
    ``stash`` command both come here. A tagging task's output holds its counts and the first
    :data:`REPORTS_KEPT` reports; ``on_report`` sees every one as it is written."""
    task = args.get("task", "tag")
    hook = args.get("hookContext")
    if hook:  # the plugin's hook passes a scene on only when it is to be tagged now
        reports = run_sync(sync, f"id:{hook.get('id')}", progress=progress)
        return {"hook": hook.get("type"), "reports": [asdict(r) for r in reports]}
    if task == "tag":
        tally = _tally(log, on_report)
        selection = sync.scenes(args.get("scenes", "queued"))
        asyncio.run(sync.run(selection, bool(args.get("force")), progress, tally))
        return _summary(tally, log, "scene(s)")
    if task == "retag":
        reports = sync.retag(sync.scenes(args.get("scenes", "all")), progress=progress)
        log_reports(reports, log)
        return {"retagged": len(reports), "reports": [asdict(r) for r in reports]}
    if task == "duplicates":
        pairs = sync.duplicates(DUPLICATE_TAG)
        for d in pairs:
            log("i", f"duplicate: scene {d.a} ≡ scene {d.b} ({d.aligned:.0%} frames aligned)")
        return {"duplicates": [asdict(d) for d in pairs]}
    if task == "generate":
        missing = sync.missing_sprites(sync.scenes("all"))
        if missing and not sync.settings.dry_run:
            sync.client.generate_sprites(missing)
        log("i", f"sprite generation requested for {len(missing)} scene(s)")
        return {"generate": missing}
    if task == "undo":
        changed = sync.writer.undo(sync.scenes(args.get("scenes", "all")))
        log("i", f"removed stashtag's tags and markers from {changed} scene(s)")
        return {"undone": changed}
    if task in ("tag-images", "tag-galleries"):
        return tag_images_or_galleries(sync, task, args, log, progress, on_report)
    if task == "review":
        from stashtag_client.stash.review import apply_review

        review = apply_review(sync, progress)
        for message in review.errors:
            log("e", message)
        log(
            "i",
            f"{review.scenes} scene(s) reviewed: {len(review.accepted)} suggestion(s) accepted, "
            f"{len(review.rejected)} rejected",
        )
        return asdict(review)
    if task in ("learn", "calibrate", "learned", "forget"):
        return learning_task(sync, task, log, progress)
    raise StashtagError(f"unknown task {task!r}")


def tag_images_or_galleries(
    sync: StashSync,
    task: str,
    args: dict,
    log: Log,
    progress: Progress,
    on_report: Callable[[SceneReport], None] | None = None,
) -> dict:
    """Images through the models (one frame each), galleries from their images' results."""
    from stashtag_client.stash.galleries import tag_galleries

    def of(kind: str) -> StashSync:
        return StashSync(sync.client, sync.store, sync.vocab, sync.settings, sync.log, kind)

    tally = _tally(log, on_report)
    if task == "tag-images":
        images = of("image")
        asyncio.run(images.run(images.scenes(args.get("images", "all")), False, progress, tally))
    else:
        for report in tag_galleries(of("gallery"), of("image"), progress):
            tally.add(report)
    return _summary(tally, log, task.split("-")[1])


def _tally(log: Log, on_report: Callable[[SceneReport], None] | None) -> Tally:
    def each(report: SceneReport) -> None:
        log_reports([report], log)
        if on_report is not None:
            on_report(report)

    return Tally(keep=REPORTS_KEPT, on_report=each)


DAMAGED_SPRITE = ("_sprite.jpg:", "JPEG")  # words of the errors a damaged sprite gives


def _summary(tally: Tally, log: Log, noun: str) -> dict:
    done = tally.total - tally.failed
    log("i", f"{done} {noun} tagged, {tally.failed} error(s)")
    damaged = [r.scene_id for r in tally.errors if any(w in r.error for w in DAMAGED_SPRITE)]
    if damaged and noun == "scene(s)":
        log(
            "w",
            f"{len(damaged)} scene(s) have a damaged sprite (e.g. {', '.join(damaged[:5])}): "
            "regenerate them in Stash (Tasks → Generate → Scene Scrubber Sprites, with "
            "Overwrite existing), then tag them again",
        )
    out = {"tagged": done, "errors": tally.failed, "reports": [asdict(r) for r in tally.reports]}
    if tally.total > len(tally.reports):  # a whole library: the rest were logged as they came
        out["reports_omitted"] = tally.total - len(tally.reports)
    return out


def learning_task(sync: StashSync, task: str, log: Log, progress: Progress) -> dict:
    """learn / calibrate / learned (list) / forget: from the store, no inference."""
    from stashtag_client.stash.learning import calibrate_from_stash, learn_from_stash
    from stashtag_client.tagging.learned import delete_learned, load_learned

    if task == "learn":
        names = names_list(sync.settings.learn_tags)
        if not names:
            raise StashtagError('set "Tags to learn" in the plugin settings first')
        learned, failed = learn_from_stash(sync, names, progress)
        for t in learned:
            m = t.metrics
            log(
                "i",
                f"learned {t.name!r} from {m.positives} example(s), {m.negatives} negative(s): "
                f"precision {m.precision:.2f}, recall {m.recall:.2f} (cross-validated against "
                f"your tags), threshold {t.threshold:.3f}; it would add it to {m.would_add} "
                "of your other scenes",
            )
        for name, why in failed.items():
            log("e", f"not learned {name!r}: {why}")
        return {"learned": [t.name for t in learned], "failed": failed}
    if task == "calibrate":
        results = calibrate_from_stash(sync, sync.settings.calibrate_min_labels, progress)
        for c in results:
            if c.note:
                log("i", f"{c.tag}: {c.positives} kept, {c.negatives} removed - {c.note}")
            else:
                log(
                    "i",
                    f"{c.tag}: threshold {c.old:.2f} → {c.new:.2f}, precision "
                    f"{c.precision_before:.2f} → {c.precision_after:.2f}, recall "
                    f"{c.recall_before:.2f} → {c.recall_after:.2f}",
                )
        return {"calibrated": [asdict(c) for c in results]}
    model_id = sync.store_model_id()
    if task == "learned":
        tags = load_learned(sync.store, model_id)
        for t in tags:
            state = "applied" if sync.settings.learned_confirmed(t.name) else "suggested only"
            log("i", f"{t.name}: threshold {t.threshold:.3f}, {state}; {t.metrics}")
        if not tags:
            log("i", "no learned tags")
        return {"learned": [t.name for t in tags]}
    names = names_list(sync.settings.forget_tags)
    if not names:
        raise StashtagError('set "Learned tags to delete" in the plugin settings first')
    gone = (
        []
        if sync.settings.dry_run
        else delete_learned(sync.store, model_id, None if "*" in names else names)
    )
    scenes = sync.writer.remove_everywhere(gone)
    log(
        "i",
        f"deleted {len(gone)} learned tag(s): {', '.join(gone) or '-'}; taken off the "
        f"{scenes} scene(s) stashtag had put them on",
    )
    return {"deleted": gone, "scenes": scenes}


def log_reports(reports, log: Log) -> None:
    """Per item what changed, one line each in Stash's log (as Stash's own tasks log each file)."""
    for r in reports:
        if r.status != "error":
            studio = f", studio {r.studio} (read from the {r.studio_from})" if r.studio else ""
            log(
                "i",
                f"{r.scene_id}: {r.status}, {_names('+', r.added)}, {_names('-', r.removed)}, "
                f"{r.markers} marker(s){studio}",
            )


def _names(sign: str, names: list[str], shown: int = 6) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{sign}{len(names)} tag(s)" + (f" ({', '.join(names[:shown])}{more})" if names else "")
