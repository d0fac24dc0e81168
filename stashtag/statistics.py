"""Triton's own statistics per model, read once they have caught up with the answers.

A model's counters are recorded after the response it was part of has left, so a client that
has every answer can still read old counts: :func:`settled` reads until they agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def model_stats(client, model: str) -> dict:
    """The ``model_stats`` entry of ``model`` (a tritonclient ``InferenceServerClient``)."""
    return client.get_inference_statistics(model, as_json=True)["model_stats"][0]


def counts(client, model: str) -> tuple[int, int]:
    """(inferences, executions) of ``model`` so far."""
    stats = model_stats(client, model)
    return int(stats.get("inference_count", 0)), int(stats.get("execution_count", 0))


def settled(
    read: Callable[[], T],
    done: Callable[[T, T], bool] | None = None,
    timeout_s: float = 5.0,
    interval_s: float = 0.1,
) -> T:
    """``read()`` again every ``interval_s`` until ``done(now, previous)`` (default: two
    readings agree) or ``timeout_s`` passed; the last reading."""
    done = done or (lambda now, previous: now == previous)
    deadline = time.monotonic() + timeout_s
    previous = read()
    while True:
        time.sleep(interval_s)
        now = read()
        if done(now, previous) or time.monotonic() > deadline:
            return now
        previous = now
