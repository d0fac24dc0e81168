"""The Stash plugin: read Stash's stdin JSON, run a task or hook, log with Stash's protocol.

Stash starts the plugin with ``{"server_connection": {...}, "args": {...}}`` on stdin; log lines
go to stderr as ``\\x01<level>\\x02<message>`` (level ``p`` reports task progress 0..1) and the
result is one JSON object ``{"output": ..., "error": ...}`` on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path

from stashtag_client.stash.client import StashClient, StashConnection
from stashtag_client.stash.settings import QUEUE_TAG, SyncSettings
from stashtag_client.stash.sync import StashSync, run_sync
from stashtag_client.store import Store
from stashtag_client.tagging.vocabulary import load_vocabulary
from stashtag_core.errors import StashtagError

PLUGIN_ID = "stashtag"
DUPLICATE_TAG = "AI_Duplicate"


LEVELS = {"trace": "t", "debug": "d", "info": "i", "warning": "w", "error": "e"}
ORDER = "tdiwe"
_min_level = ["t"]  # set from the plugin's "Log level" setting


def set_log_level(name: str) -> None:
    name = (name or "info").strip().lower()
    if name not in LEVELS:
        raise StashtagError(f"log level {name!r}: {', '.join(LEVELS)}")
    _min_level[0] = LEVELS[name]


def log(level: str, message: str) -> None:
    if level in ORDER and ORDER.index(level) < ORDER.index(_min_level[0]):
        return  # below the chosen level (progress "p" always goes through)
    for line in str(message).splitlines() or [""]:
        sys.stderr.write(f"\x01{level}\x02{line}\n")
    sys.stderr.flush()


def progress(fraction: float) -> None:
    log("p", f"{min(max(fraction, 0.0), 1.0):.3f}")


def settings_from(config: dict) -> SyncSettings:
    return SyncSettings(
        endpoints=config.get("endpoints") or "127.0.0.1:8001",
        mode="suggest" if config.get("suggestMode") else "apply",
        parent_tag=config.get("parentTag") or "",
        markers=not config.get("noMarkers", False),
        studio=not config.get("noStudio", False),
        overwrite_studio=bool(config.get("overwriteStudio")),
        dry_run=bool(config.get("dryRun")),
        server_key=config.get("serverKey") or None,
        tls_ca=config.get("tlsCa") or None,
        confirmed_learned=confirmed_names(config.get("confirmedLearned") or ""),
        strategy=config.get("strategy") or "append",
        only_new_any=bool(config.get("onlyNewAnyTag")),
        allow_overwrite=bool(config.get("allowOverwrite")),
        full_images=bool(config.get("fullImages")),
        describe=bool(config.get("describe")),
        describe_overwrite=bool(config.get("describeOverwrite")),
        description=describe_settings(config),
        gallery_share=float(config.get("galleryShare") or 0.3),
    )


def policy_from(vocab, config: dict):
    """The vocabulary with the plugin settings' allow/deny lists and review level."""
    import dataclasses

    from stashtag_client.tagging.rules import with_overrides

    below = config.get("reviewBelow")
    policy = with_overrides(
        vocab.policy,
        names_list(config.get("allowTags") or ""),
        names_list(config.get("denyTags") or ""),
        float(below) if below not in (None, "", 0) else None,
    )
    return dataclasses.replace(vocab, policy=policy)


def describe_settings(config: dict):
    from stashtag_client.tagging.descriptions import DEFAULT_TEMPLATE, DescribeSettings

    return DescribeSettings(
        template=config.get("describeTemplate") or DEFAULT_TEMPLATE,
        endpoint=config.get("describeEndpoint") or "",
        model=config.get("describeModel") or "local-model",
        api_key=config.get("describeApiKey") or "",
    )


def names_list(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def confirmed_names(text: str) -> frozenset[str] | str:
    names = names_list(text)
    return "*" if "*" in names else frozenset(n.casefold() for n in names)


def tag_images_or_galleries(
    sync: StashSync, task: str, args: dict, progress=progress, log=log
) -> dict:
    """Images through the models (one frame each), galleries from their images' results."""
    from stashtag_client.stash.galleries import tag_galleries

    def of(kind: str) -> StashSync:
        return StashSync(sync.client, sync.store, sync.vocab, sync.settings, sync.log, kind)

    if task == "tag-images":
        images = of("image")
        reports = asyncio.run(images.run(images.scenes(args.get("images", "all")), False, progress))
    else:
        reports = tag_galleries(of("gallery"), of("image"), progress)
    errors = [r for r in reports if r.status == "error"]
    for r in errors:
        log("e", f"{task.split('-')[1][:-1]} {r.scene_id}: {r.error}")
    log("i", f"{len(reports) - len(errors)} {task.split('-')[1]} tagged, {len(errors)} error(s)")
    return {"tagged": len(reports) - len(errors), "reports": [asdict(r) for r in reports]}


def learning_task(sync: StashSync, task: str, config: dict) -> dict:
    """learn / calibrate / learned (list) / forget: from the store, no inference."""
    from stashtag_client.stash.learning import calibrate_from_stash, learn_from_stash
    from stashtag_client.tagging.learned import delete_learned, load_learned

    if task == "learn":
        names = names_list(config.get("learnTags") or "")
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
        results = calibrate_from_stash(sync, int(config.get("calibrateMinLabels") or 3), progress)
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
    names = names_list(config.get("forgetTags") or "")
    if not names:
        raise StashtagError('set "Learned tags to delete" in the plugin settings first')
    gone = (
        []
        if sync.settings.dry_run
        else delete_learned(sync.store, model_id, None if "*" in names else names)
    )
    scenes = sync.remove_everywhere(gone)
    log(
        "i",
        f"deleted {len(gone)} learned tag(s): {', '.join(gone) or '-'}; taken off the "
        f"{scenes} scene(s) stashtag had put them on",
    )
    return {"deleted": gone, "scenes": scenes}


def log_reports(reports) -> None:
    """Per item what changed, at debug level."""
    for r in reports:
        if r.status != "error":
            log("d", f"{r.scene_id}: {r.status}, +{r.added} -{r.removed}, {r.markers} marker(s)")


def run_task(sync: StashSync, args: dict, config: dict) -> dict:
    task = args.get("task", "tag")
    hook = args.get("hookContext")
    if hook:
        scene_id = str(hook.get("id"))
        if config.get("tagOnCreate"):
            reports = run_sync(sync, f"id:{scene_id}", progress=progress)
            return {"hook": hook.get("type"), "reports": [asdict(r) for r in reports]}
        if not sync.settings.dry_run:
            sync.client.update_scene_tags([scene_id], [sync.tags.get(QUEUE_TAG)], "ADD")
        return {"hook": hook.get("type"), "queued": scene_id}
    if task == "tag":
        reports = run_sync(sync, args.get("scenes", "queued"), progress=progress)
        log_reports(reports)
        errors = [r for r in reports if r.status == "error"]
        for r in errors:
            log("e", f"scene {r.scene_id}: {r.error}")
        log("i", f"{len(reports) - len(errors)} scene(s) tagged, {len(errors)} error(s)")
        return {
            "tagged": len(reports) - len(errors),
            "errors": len(errors),
            "reports": [asdict(r) for r in reports],
        }
    if task == "retag":
        reports = sync.retag(sync.scenes(args.get("scenes", "all")), progress=progress)
        log_reports(reports)
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
        changed = sync.undo(sync.scenes("all"))
        log("i", f"removed stashtag's tags and markers from {changed} scene(s)")
        return {"undone": changed}
    if task in ("tag-images", "tag-galleries"):
        return tag_images_or_galleries(sync, task, args)
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
        return learning_task(sync, task, config)
    raise StashtagError(f"unknown task {task!r}")


def main(stdin: str) -> int:
    """Run one plugin invocation; returns the process exit code."""
    try:
        payload = json.loads(stdin or "{}")
        conn = StashConnection.from_plugin(payload.get("server_connection") or {})
        client = StashClient(conn)
        config = client.plugin_settings(PLUGIN_ID)
        set_log_level(config.get("logLevel") or "info")
        plugin_dir = Path((payload.get("server_connection") or {}).get("PluginDir") or ".")
        store_path = Path(config.get("storePath") or plugin_dir / "stashtag.db")
        vocab = policy_from(load_vocabulary(config.get("vocabulary") or None), config)
        with Store(store_path) as store:
            settings = settings_from(config)
            # a hook tags one scene while the user waits: ahead of other instances' bulk jobs
            settings.interactive = bool((payload.get("args") or {}).get("hookContext"))
            sync = StashSync(client, store, vocab, settings, log)
            output = run_task(sync, payload.get("args") or {}, config)
        progress(1.0)
        print(json.dumps({"output": output, "error": None}))
        return 0
    except (StashtagError, ValueError, OSError) as exc:
        log("e", str(exc))
        print(json.dumps({"output": None, "error": str(exc)}))
        return 1
