"""How long the web UI waits for the plugin: ``runPluginOperation`` latency on a large store.

Writes a store of N synthetic scenes at the small preset's sizes (81 frames, CLIP 512, DINOv2
384: ~2 GB for 10k scenes), starts the fake Stash with N scenes and our plugin installed, and
times each operation as Stash runs it — a new Python process per call, start-up included —
through the fake's GraphQL ``runPluginOperation``. The search text is cached in the store
(the embedding itself is one Triton round trip, timed apart by the browser tests' server).

    .venv/bin/python scripts/ui_latency.py 10000 --store /tmp/ui-10k.db
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stashtag_client.stash.client import StashClient  # noqa: E402
from stashtag_client.stash.http import StashConnection  # noqa: E402
from stashtag_client.store import SceneRecord, Store  # noqa: E402
from tests.fakestash import FakeScene, FakeStash, serve  # noqa: E402

FRAMES, CLIP, DINO, MODEL = 81, 512, 384, "small-synthetic"


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def write_store(path: Path, n: int) -> None:
    """Scenes of a few shots each (frames near their shot), as a real video's frames are."""
    rng = np.random.default_rng(0)
    with Store(path) as db:
        have = db.count(MODEL)
        for i in range(have + 1, n + 1):
            shots = _unit(rng.standard_normal((6, CLIP)))
            noise = rng.standard_normal((FRAMES, CLIP)) * 0.05
            clip = _unit(np.repeat(shots, 14, axis=0)[:FRAMES] + noise)
            dino = _unit(rng.standard_normal((FRAMES, DINO)))
            times = np.arange(FRAMES) * 20.0
            empty = [np.zeros((0, 6), np.float32)] * FRAMES
            db.put(SceneRecord(str(i), MODEL, str(i), "duration", times, clip, dino, dino, empty))
            if i % 1000 == 0:
                print(f"  stored {i} scenes", flush=True)
        target = db.get(str(n // 2), MODEL).clip[40]
        db.cache_text(MODEL, {"a beach at night": target})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", type=int)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    write_store(args.store, args.scenes)
    print(f"store {args.store}: {args.store.stat().st_size / 1e9:.2f} GB "
          f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    fake = FakeStash("k")
    for i in range(1, args.scenes + 1):
        fake.add_scene(FakeScene(str(i), f"Scene {i}", f"/v/{i}.mp4", f"{i:016x}", 1620.0))
    fake.plugin_settings["stashtag"] = {"storePath": str(args.store)}
    fake.installed["stashtag"] = (ROOT / "plugin", sys.executable)
    server, url = serve(fake)
    client = StashClient(StashConnection(url, "k", timeout_s=120))
    calls = {
        "search": {"op": "search", "text": "a beach at night", "limit": 24},
        "similar": {"op": "similar", "scene_id": "7", "limit": 12},
        "review": {"op": "review"},
        "status": {"op": "status"},
    }
    mutation = 'mutation Op($args: Map) { runPluginOperation(plugin_id: "stashtag", args: $args) }'
    for name, op in calls.items():
        seconds = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = client.gql(mutation, {"args": op})["runPluginOperation"]
            seconds.append(time.perf_counter() - t)
        hint = f"first hit scene {out['hits'][0]['id']}" if name == "search" else ""
        print(
            "   plugin process s:",
            [round(o["seconds"], 2) for o in fake.operations[-args.repeats :]],
        )
        print(f"{name:8s} median {statistics.median(seconds):.2f} s  "
              f"(min {min(seconds):.2f}, max {max(seconds):.2f}) {hint}")  # fmt: skip
    server.shutdown()


if __name__ == "__main__":
    main()
