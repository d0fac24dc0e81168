"""Peak memory of a Stash run against a large library (issue: memory flat for 100k scenes).

Starts the fake Stash (tests/fakestash.py) with N scenes and a Triton server on the tiny
repository, then runs ``stashtag-client stash --scenes all`` in a child process and reports its
wall time and peak RSS. The scenes have no sprite and no readable video, so no inference runs:
what is measured is the client's own bookkeeping over the library — the paged selection, one
task per scene, the write-back of every scene (``AI_Errored`` with the reason) — which is what
would grow with the library's size.

    .venv/bin/python scripts/stash_scale.py 1000 10000 100000
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stashtag.server import ServerOptions, TritonServer, free_port  # noqa: E402
from tests.fakestash import FakeScene, FakeStash, serve  # noqa: E402


def run(n: int, grpc_url: str, work: Path) -> tuple[float, float]:
    fake = FakeStash("k")
    for i in range(1, n + 1):
        fake.add_scene(FakeScene(str(i), f"S{i}", f"/nonexistent/{i}.mp4", f"{i:016x}", 30.0))
    server, url = serve(fake)
    store = work / f"scale-{n}.db"
    store.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "stashtag_client.cli", "stash", "--stash-url", url]
    cmd += ["--stash-api-key", "k", "--triton", grpc_url, "--store", str(store)]
    cmd += ["--scenes", "all", "--quiet", "--out", str(work / f"scale-{n}.json"), "--no-studio"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    server.shutdown()
    if done.returncode not in (0, 2):  # 2: scenes with errors, which is every scene here
        raise SystemExit(done.stderr[-3000:])
    written = sum(1 for s in fake.scenes.values() if s.tag_ids)
    assert written == n, f"{written} of {n} scenes written"
    # ru_maxrss of children is the largest child so far: only a larger run can raise it
    return wall, max(peak, before) / 1024


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    work = ROOT / "runs" / "stash-scale"
    work.mkdir(parents=True, exist_ok=True)
    repo = work / "tiny-repo"
    opts = ServerOptions(repo, free_port(), free_port(), free_port())
    cmd = [sys.executable, "-m", "stashtag.cli", "serve", "--repo", str(repo)]
    cmd += ["--preset", "tiny", "--random-weights", "--grpc-port", str(opts.grpc_port)]
    cmd += ["--http-port", str(opts.http_port), "--metrics-port", str(opts.metrics_port)]
    triton = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        probe = TritonServer(opts)
        while not probe.ready():
            if triton.poll() is not None:
                raise SystemExit("stashtag serve failed")
            time.sleep(1)
        print("| scenes | wall s | scenes/s | client peak RSS MB |\n|---|---|---|---|")
        for n in sorted(sizes):
            wall, peak = run(n, opts.grpc_url, work)
            print(f"| {n} | {wall:.0f} | {n / wall:.0f} | {peak:.0f} |", flush=True)
    finally:
        triton.terminate()
        triton.wait(60)


if __name__ == "__main__":
    main()
