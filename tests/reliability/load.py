"""A client process for the load test: sends sprites for a fixed time, counts what happened."""

from __future__ import annotations

import asyncio
import os
import time

import numpy as np


def rss_bytes() -> int:
    from stashtag.procstat import tree_rss_bytes

    return tree_rss_bytes(os.getpid()) or 0


async def _loop(url: str, requests, in_flight: int, seconds: float) -> dict:
    from stashtag_client.inference.transport import (
        EndpointPool,
        RequestError,
        TransportError,
        parse_endpoints,
    )
    from stashtag_core.modelspec import TAGGER

    counts = {"requests": 0, "frames": 0, "errors": 0}
    deadline = time.monotonic() + seconds
    async with EndpointPool(parse_endpoints(url), in_flight) as pool:

        async def worker(k: int) -> None:
            i = k
            while time.monotonic() < deadline:
                jpeg, rects = requests[i % len(requests)]
                i += in_flight
                try:
                    out = await pool.infer(
                        "tagger",
                        {"jpeg": np.frombuffer(jpeg, np.uint8), "rects": rects},
                        TAGGER.outputs,
                    )
                except (RequestError, TransportError):
                    counts["errors"] += 1
                    continue
                counts["requests"] += 1
                counts["frames"] += len(out["clip_embedding"])

        await asyncio.gather(*(worker(k) for k in range(in_flight)))
    return counts


def client(url: str, requests, in_flight: int, seconds: float, barrier, results) -> None:
    barrier.wait()
    start_rss = rss_bytes()
    counts = asyncio.run(_loop(url, requests, in_flight, seconds))
    results.put({**counts, "rss_start": start_rss, "rss_end": rss_bytes()})
