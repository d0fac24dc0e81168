"""Four client processes on one server for bounded rounds: no errors, every client served,
memory of server and clients flat once warm (proportional set size, every round reported)."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np

from stashtag.procstat import tree_rss_bytes
from tests.reliability.library import small_sprite
from tests.reliability.load import client

CLIENTS, SECONDS, IN_FLIGHT, ROUNDS = 4, 15.0, 4, 4
MB = 2**20


def test_four_clients_for_a_bounded_time(triton, figures):
    from stashtag_client.frames.sprites import parse_vtt, rects_array

    requests = []
    for i in range(8):
        jpeg, vtt = small_sprite(500 + i, "x")
        requests.append((jpeg, rects_array(parse_vtt(vtt))))
    url = triton.options.grpc_url
    # the largest request the server takes, first: every buffer reaches its peak size now
    from stashtag_client.inference.triton import TritonClient
    from stashtag_core.modelspec import Limits

    jpeg, rects = requests[0]
    TritonClient(url).tag_frames(jpeg, np.resize(rects, (Limits().max_frames, 4)))
    ctx = mp.get_context("spawn")
    rounds = []
    # memory climbs while mixed batch sizes first meet the allocators, then plateaus: the last
    # round is measured, the ones before it warm up
    for _ in range(ROUNDS):
        barrier, results = ctx.Barrier(CLIENTS), ctx.Queue()
        server_before = tree_rss_bytes(triton.cli_process.pid)
        procs = [
            ctx.Process(target=client, args=(url, requests, IN_FLIGHT, SECONDS, barrier, results))
            for _ in range(CLIENTS)
        ]
        for p in procs:
            p.start()
        got = [results.get(timeout=SECONDS + 120) for _ in procs]
        for p in procs:
            p.join(30)
        rounds.append((server_before, got))
    server_start, _ = rounds[-1]
    server_end = tree_rss_bytes(triton.cli_process.pid)
    got = rounds[-1][1]
    frames = [g["frames"] for g in got]
    shares = [round(f / (sum(frames) / CLIENTS), 2) for f in frames]
    figures.update(
        clients=CLIENTS,
        seconds=SECONDS,
        requests=[g["requests"] for g in got],
        frames=frames,
        shares=shares,
        errors=sum(g["errors"] for g in got),
        server_rss_mb=[round(server_start / MB), round(server_end / MB)]
        if server_start and server_end
        else None,
        client_rss_mb=[[round(g["rss_start"] / MB), round(g["rss_end"] / MB)] for g in got],
        server_mb_by_round=[round((r[0] or 0) / MB) for r in rounds] + [round(server_end / MB)],
    )
    assert all(g["errors"] == 0 for g in got), got
    assert all(g["requests"] > 0 for g in got), got
    if server_start and server_end:
        assert server_end < server_start * 1.1 + 100 * MB, (server_start, server_end)
    for g in got:
        assert g["rss_end"] < g["rss_start"] * 1.5 + 50 * MB, g
