"""The Stash plugin: read Stash's stdin JSON, run a task or hook, log with Stash's protocol.

Stash starts the plugin with ``{"server_connection": {...}, "args": {...}}`` on stdin; log lines
go to stderr as ``\\x01<level>\\x02<message>`` (level ``p`` reports task progress 0..1) and the
result is one JSON object ``{"output": ..., "error": ...}`` on stdout. A task runs in
:func:`stashtag_client.stash.tasks.run_task`, as for the ``stash`` command; an ``op`` (the web
UI's ``runPluginOperation``) in :mod:`stashtag_client.stash.operations`, importing only what it
needs: the user is waiting for it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection
from stashtag_client.store import Store
from stashtag_client.wiring import vocabulary
from stashtag_core.errors import StashtagError

PLUGIN_ID = "stashtag"
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


def main(stdin: str) -> int:
    """Run one plugin invocation; returns the process exit code."""
    try:
        payload = json.loads(stdin or "{}")
        server = payload.get("server_connection") or {}
        args = payload.get("args") or {}
        client = StashClient(StashConnection.from_plugin(server))
        plugin_dir = Path(server.get("PluginDir") or ".")
        settings = Settings.load(
            plugin=client.plugin_settings(PLUGIN_ID),
            defaults={"store": str(plugin_dir / "stashtag.db")},
            # a hook tags one scene while the user waits: ahead of other instances' bulk jobs
            flags={"interactive": bool(args.get("hookContext"))},
        )
        set_log_level(settings.log_level)
        with Store(Path(settings.store)) as store:
            if args.get("op"):
                from stashtag_client.stash.operations import Operations

                output = Operations(client, settings, store, log).run(args)
            else:
                from stashtag_client.stash.sync import StashSync
                from stashtag_client.stash.tasks import run_task

                sync = StashSync(client, store, vocabulary(settings), settings, log)
                output = run_task(sync, args, log, progress)
                progress(1.0)
        print(json.dumps({"output": output, "error": None}))
        return 0
    except (StashtagError, ValueError, OSError) as exc:
        log("e", str(exc))
        print(json.dumps({"output": None, "error": str(exc)}))
        return 1
