"""Kill -9 Triton halfway through a 200-scene Stash run: with a second endpoint the run fails
over; with one it waits, retries and finishes once the server is back. Afterwards no scene is
lost and nothing is duplicated."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from stashtag.server import ServerOptions, TritonServer, free_port
from stashtag_client.store import Store
from tests.fakestash import serve
from tests.reliability.library import make_library, make_sync, problems

SCENES = 100  # 8 requests in flight when the server dies: the outage is the same at any size
KILL_AT = 0.3  # fraction of scenes through inference when the server dies


def _options(repo, tmp_path, name: str) -> ServerOptions:
    return ServerOptions(
        repo, free_port(), free_port(), free_port(), log_file=tmp_path / f"{name}.log"
    )


def _run(sync, on_progress):
    return asyncio.run(sync.run(sync.scenes("queued"), progress=on_progress))


def test_failover_to_the_second_server(triton, tiny_repo, tmp_path, figures):
    fake = make_library(SCENES)
    http, url = serve(fake)
    opts = _options(tiny_repo, tmp_path, "second")
    killed = {}
    try:
        with TritonServer(opts) as second, Store(tmp_path / "s.db") as store:

            def on_progress(fraction: float) -> None:
                if not killed and fraction >= 0.9 * KILL_AT:
                    os.killpg(second.process.pid, signal.SIGKILL)
                    killed["at"] = fraction / 0.9

            # the doomed server gets three times the traffic, so plenty is in flight there
            endpoints = f"{triton.options.grpc_url},{opts.grpc_url}=3"
            start = time.perf_counter()
            # the tagger alone: OCR in flight through a dying server is the restart test's part
            sync = make_sync(url, store, endpoints, ocr_frames="none")
            reports = _run(sync, on_progress)
            seconds = time.perf_counter() - start
            stored = store.count(store.model_ids()[0])
        assert killed, "the server was never killed"
        assert [r.status for r in reports] == ["tagged"] * SCENES
        assert stored == SCENES
        assert problems(fake) == []
    finally:
        http.shutdown()
    figures.update(
        scenes=SCENES,
        killed_at=round(killed["at"], 2),
        tagged=sum(r.status == "tagged" for r in reports),
        lost=SCENES - stored,
        problems=0,
        seconds=round(seconds, 1),
    )


def test_single_server_restarts_and_the_run_finishes(tiny_repo, tmp_path, figures):
    fake = make_library(SCENES)
    http, url = serve(fake)
    opts = _options(tiny_repo, tmp_path, "only")
    servers = [TritonServer(opts).start()]
    servers[0].wait_ready()
    events: dict = {}

    def restart() -> None:
        # on the event loop's thread: the server dies with the thread that started it
        events["restarted"] = time.perf_counter()
        servers.append(TritonServer(opts).start())

    def on_progress(fraction: float) -> None:
        if "killed" not in events and fraction >= 0.9 * KILL_AT:
            os.killpg(servers[0].process.pid, signal.SIGKILL)
            events["killed"] = time.perf_counter()
            events["at"] = fraction / 0.9
            asyncio.get_running_loop().call_later(2.0, restart)

    try:
        with Store(tmp_path / "s.db") as store:
            start = time.perf_counter()
            reports = _run(make_sync(url, store, opts.grpc_url), on_progress)
            seconds = time.perf_counter() - start
            stored = store.count(store.model_ids()[0])
        assert "restarted" in events, "the server was never restarted"
        assert [r.status for r in reports] == ["tagged"] * SCENES
        assert stored == SCENES
        assert problems(fake) == []
    finally:
        for s in servers:
            s.stop()
        http.shutdown()
    figures.update(
        scenes=SCENES,
        killed_at=round(events["at"], 2),
        down_s=round(events["restarted"] - events["killed"], 1),
        tagged=sum(r.status == "tagged" for r in reports),
        lost=SCENES - stored,
        problems=0,
        seconds=round(seconds, 1),
    )
