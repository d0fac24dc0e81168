"""Stash answering 500, timing out, dropping the connection before or after applying a write,
all through a 40-scene run: requests are retried, creates are never doubled, no scene is
marked done half-written, and a resume finishes whatever was left."""

from __future__ import annotations

import asyncio

from stashtag_client.stash.workflow import DONE_TAG, QUEUE_TAG
from stashtag_client.store import Store
from tests.fakestash import serve
from tests.reliability.library import make_library, make_sync, names, problems, scene_state

SCENES = 40  # ~850 GraphQL requests, one in five faulted


def test_flaky_stash_then_resume(triton, tmp_path, figures):
    fake = make_library(SCENES)
    fake.faults.every = 5  # one request in five fails, in turn: 500, drop, drop after, delay
    fake.faults.delay_s = 1.5  # over the client's 1 s timeout
    http, url = serve(fake)
    try:
        with Store(tmp_path / "s.db") as store:
            sync = make_sync(url, store, triton.options.grpc_url, timeout_s=1.0)
            first = asyncio.run(sync.run(sync.scenes("queued")))
            after_first = {sid: scene_state(fake, sid) for sid in fake.scenes}
            left = [sid for sid in fake.scenes if QUEUE_TAG in names(fake, sid)]
            done_first = [sid for sid in fake.scenes if sid not in left]
            # every scene not finished is still queued for a resume
            assert all(DONE_TAG in names(fake, sid) for sid in done_first)
            second = asyncio.run(sync.run(sync.scenes("queued")))
            rounds = 2
            while fake.scenes and any(QUEUE_TAG in names(fake, s) for s in fake.scenes):
                assert rounds < 5, "resume does not converge"
                asyncio.run(sync.run(sync.scenes("queued")))
                rounds += 1
            injected = dict(fake.faults.injected)
            fake.faults.every = 0
            # re-applying what the first run marked done, with Stash healthy, changes nothing:
            # those scenes were complete
            before = {sid: scene_state(fake, sid) for sid in done_first}
            check = asyncio.run(sync.run(sync.scenes("id:" + ",".join(done_first))))
            assert all(not r.added and not r.removed for r in check)
            assert {sid: scene_state(fake, sid) for sid in done_first} == before
        assert set(injected) == {"500", "drop", "drop_after", "delay"}, injected
        assert problems(fake) == []
        # what the first run marked done did not change afterwards: it was complete
        assert all(scene_state(fake, sid) == after_first[sid] for sid in done_first)
        assert len(second) == len(left)
    finally:
        http.shutdown()
    figures.update(
        scenes=SCENES,
        faults_injected=injected,
        requests=fake.faults.seen,
        done_in_first_run=len(done_first),
        errors_in_first_run=sum(r.status == "error" for r in first),
        resume_runs=rounds - 1,
        lost=0,
        duplicates=0,
    )
