"""Recordings of a real Stash (v0.30.1) replayed against the fake Stash.

Each recording under ``tests/client/data/real_stash/`` was made by running a stashtag plugin
task inside a real Stash (built from its v0.30.1 source, in a session; never committed):
``<name>.before.json`` is Stash's state just before (read with GraphQL), ``<name>.graphql.jsonl``
every GraphQL exchange the plugin had with Stash (``STASHTAG_STASH_TRANSCRIPT``), in order, and
``<name>.stdin.json``/``.stderr``/``.stdout`` what Stash gave the plugin process and got back.

The replay seeds a fake with the state, sends it the same requests in the same order and
compares each answer with Stash's own, value for value (URLs' ``?t=`` cache-busters aside).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from tests.fakestash import FakeGallery, FakeImage, FakeScene, FakeStash

RECORDINGS = Path(__file__).parent / "client" / "data" / "real_stash"
CACHE_BUSTER = re.compile(r"\?t=\d+")


def recordings() -> list[str]:
    found = RECORDINGS.glob("*.graphql.jsonl.gz")
    return sorted(p.name.removesuffix(".graphql.jsonl.gz") for p in found)


def _read(name: str, kind: str) -> str:
    """A recording's file; the large ones (state, exchanges) are kept gzipped."""
    path = RECORDINGS / f"{name}.{kind}"
    if path.exists():
        return path.read_text(encoding="utf-8")
    return gzip.decompress((RECORDINGS / f"{name}.{kind}.gz").read_bytes()).decode("utf-8")


def exchanges(name: str) -> list[dict]:
    return [json.loads(line) for line in _read(name, "graphql.jsonl").splitlines() if line.strip()]


def _base_url(name: str) -> str:
    sc = json.loads((RECORDINGS / f"{name}.stdin.json").read_text())["server_connection"]
    return f"{sc['Scheme']}://{sc['Host']}:{sc['Port']}"


def seeded_fake(name: str) -> FakeStash:
    """A fake holding what the real Stash held before the recording (same ids)."""
    state = json.loads(_read(name, "before.json"))
    fake = FakeStash("key")
    fake.base_url = _base_url(name)
    top = {"tag": 0, "studio": 0, "marker": 0}
    for t in state["findTags"]["tags"]:
        fake.tags[t["id"]] = {
            "id": t["id"],
            "name": t["name"],
            "aliases": t["aliases"],
            "ignore_auto_tag": t["ignore_auto_tag"],
            "description": t["description"],
            "parent_ids": [p["id"] for p in t["parents"]],
        }
        top["tag"] = max(top["tag"], int(t["id"]))
    for st in state["findStudios"]["studios"]:
        fake.studios[st["id"]] = {"id": st["id"], "name": st["name"], "aliases": st["aliases"]}
        top["studio"] = max(top["studio"], int(st["id"]))
    for sc in state["findScenes"]["scenes"]:
        f = sc["files"][0]
        fake.add_scene(
            FakeScene(
                sc["id"], sc["title"], f["path"], f["oshash"], f["duration"], f["width"],
                f["height"], [t["id"] for t in sc["tags"]],
                sc["studio"]["id"] if sc["studio"] else None, details=sc["details"],
                size=f["size"], frame_rate=f["frame_rate"],
            )
        )  # fmt: skip
        for m in sc["scene_markers"]:
            fake.markers[m["id"]] = {
                "id": m["id"],
                "scene_id": sc["id"],
                "title": m["title"],
                "seconds": m["seconds"],
                "end_seconds": m["end_seconds"],
                "primary_tag_id": m["primary_tag"]["id"],
                "tag_ids": [t["id"] for t in m["tags"]],
            }
            top["marker"] = max(top["marker"], int(m["id"]))
    for g in state["findGalleries"]["galleries"]:
        fake.add_gallery(FakeGallery(g["id"], g["title"], [t["id"] for t in g["tags"]]))
    for i in state["findImages"]["images"]:
        vf = i["visual_files"][0]
        fake.add_image(
            FakeImage(
                i["id"], i["title"], vf["path"], b"", vf["width"], vf["height"],
                [g["id"] for g in i["galleries"]], [t["id"] for t in i["tags"]],
                [f["path"] for f in i["visual_files"][1:]],
            )
        )  # fmt: skip
    fake.plugin_settings = {k: dict(v) for k, v in state["configuration"]["plugins"].items()}
    fake.plugins_path = state["configuration"]["general"]["pluginsPath"]
    fake._ids = dict(top)
    return fake


def normalise(value):
    if isinstance(value, str):
        return CACHE_BUSTER.sub("", value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


def differences(real, fake, path: str = "") -> list[str]:
    """Where two answers differ, as ``path: real != fake`` lines."""
    if isinstance(real, dict) and isinstance(fake, dict):
        out = []
        for key in sorted(set(real) | set(fake)):
            if key not in fake:
                out.append(f"{path}.{key}: missing in the fake")
            elif key not in real:
                out.append(f"{path}.{key}: the fake has it, Stash does not")
            else:
                out += differences(real[key], fake[key], f"{path}.{key}")
        return out
    if isinstance(real, list) and isinstance(fake, list):
        if len(real) != len(fake):
            return [f"{path}: {len(real)} items != {len(fake)}"]
        pairs = enumerate(zip(real, fake, strict=True))
        return [d for i, (r, f) in pairs for d in differences(r, f, f"{path}[{i}]")]
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (real, fake))
    if real != fake or (type(real) is not type(fake) and not numbers):
        return [f"{path}: {real!r} != {fake!r}"]
    return []


CREATES = {"tagCreate": "tag", "sceneMarkerCreate": "marker", "studioCreate": "studio"}


def _sequence_from_first_create(fake: FakeStash, ex: dict, started: set[str]) -> None:
    """Stash's tables are AUTOINCREMENT: ids of deleted rows are never reused, and how far a
    sequence got is not in the state a GraphQL client can read. The first create of each kind
    in a recording says it; the fake's counter continues from there."""
    for field, kind in CREATES.items():
        made = ((ex["response"].get("data") or {}).get(field) or {}).get("id")
        if made and kind not in started:
            started.add(kind)
            fake._ids[kind] = max(fake._ids.get(kind, 0), int(made) - 1)


def replay(name: str) -> list[str]:
    """Every difference between Stash's answers and the fake's, exchange by exchange."""
    fake = seeded_fake(name)
    found, started = [], set()
    for n, ex in enumerate(exchanges(name)):
        _sequence_from_first_create(fake, ex, started)
        answer = fake.execute(ex["query"], ex["variables"])
        for d in differences(normalise(ex["response"]), normalise(answer)):
            op = ex["query"].split("{")[0].strip()[:40]
            found.append(f"#{n} {op}: {d}")
    return found
