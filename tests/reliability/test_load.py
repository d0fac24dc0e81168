"""Four client processes on one server for a bounded time: no errors, every client served,
memory of server and clients flat."""

from __future__ import annotations

import multiprocessing as mp

from stashtag.procstat import tree_rss_bytes
from tests.reliability.library import small_sprite
from tests.reliability.load import client

CLIENTS, SECONDS, IN_FLIGHT = 4, 20.0, 4
MB = 2**20


def test_four_clients_for_a_bounded_time(triton, figures):
    from stashtag.client.sprites import parse_vtt, rects_array

    requests = []
    for i in range(8):
        jpeg, vtt = small_sprite(500 + i, "x")
        requests.append((jpeg, rects_array(parse_vtt(vtt))))
    url = triton.options.grpc_url
    ctx = mp.get_context("spawn")
    rounds = []
    for _ in range(2):  # the first round warms up; the second is measured against it
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
    server_start, _ = rounds[1]
    server_end = tree_rss_bytes(triton.cli_process.pid)
    got = rounds[1][1]
    assert all(g["errors"] == 0 for g in got), got
    assert all(g["requests"] > 0 for g in got), got
    frames = [g["frames"] for g in got]
    shares = [round(f / (sum(frames) / CLIENTS), 2) for f in frames]
    if server_start and server_end:
        assert server_end < server_start * 1.25 + 100 * MB, (server_start, server_end)
    for g in got:
        assert g["rss_end"] < g["rss_start"] * 1.5 + 50 * MB, g
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
    )
