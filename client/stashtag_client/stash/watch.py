"""``stashtag stash --watch``: tag new and queued scenes at an interval until told to stop.

SIGINT/SIGTERM end the loop after the pass in progress (nothing half-written); a second signal
stops at once. A failing pass (Stash or Triton away) is logged and the next one tries again.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from stashtag_core.errors import StashtagError


def watch(
    run_once: Callable[[], dict],
    interval_s: float,
    log: Callable[[str, str], None],
    stop: threading.Event | None = None,
    max_passes: int | None = None,
) -> int:
    """Call ``run_once`` (a tag task: ``{"tagged": n, "errors": m, …}``) every ``interval_s``
    until ``stop`` is set; returns the passes run."""
    stop = stop or _stop_on_signals()
    passes = 0
    while not stop.is_set() and (max_passes is None or passes < max_passes):
        try:
            done = run_once()
        except StashtagError as exc:
            log("e", f"pass {passes + 1} failed: {exc}; trying again in {interval_s:g} s")
        else:
            if done.get("tagged") or done.get("errors"):
                log("i", f"pass {passes + 1}: {done['tagged']} tagged, {done['errors']} error(s)")
        passes += 1
        stop.wait(interval_s)
    log("i", f"stopped after {passes} pass(es)")
    return passes


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    return stop
