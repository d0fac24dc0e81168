"""A fake-Stash library for the reliability runs: many small scenes (2×2 sprites) and the
checks that every scene ended in the right state with nothing duplicated."""

from __future__ import annotations

from stashtag.demo.samples import encode_jpeg, sprite_sheet
from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashConnection
from stashtag_client.stash.sync import StashSync
from stashtag_client.stash.workflow import DONE_TAG, ERROR_TAG, QUEUE_TAG
from stashtag_client.stash.writer import MARKER_PREFIX
from stashtag_client.store import Store
from stashtag_client.tagging.vocabulary import load_vocabulary
from tests.fakestash import FakeScene, FakeStash

API_KEY = "k3y"
CELL_W, CELL_H = 160, 90


def stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def small_sprite(seed: int, oshash: str, duration: float = 30.0, grid: int = 2):
    """A ``grid``×``grid`` sprite sheet and its VTT, laid out the way Stash writes them."""
    sheet = sprite_sheet(seed)[: grid * CELL_H, : grid * CELL_W]
    n, step = grid * grid, duration / (grid * grid)
    cues = [
        f"{stamp(i * step)} --> {stamp((i + 1) * step)}\n"
        f"{oshash}_sprite.jpg#xywh={i % grid * CELL_W},{i // grid * CELL_H},{CELL_W},{CELL_H}\n"
        for i in range(n)
    ]
    return encode_jpeg(sheet), "WEBVTT\n\n" + "\n".join(cues)


def cover(seed: int) -> bytes:
    """A scene's screenshot as Stash keeps one for every scanned scene (small: OCR scales it)."""
    import cv2

    cell = sprite_sheet(seed)[:CELL_H, :CELL_W]
    return encode_jpeg(cv2.resize(cell, (2 * CELL_W, 2 * CELL_H)))


def make_library(scenes: int, user_tag_every: int = 10) -> FakeStash:
    """``scenes`` queued scenes with sprites and covers; every ``user_tag_every``-th carries a
    user tag and a user marker that must survive."""
    fake = FakeStash(API_KEY)
    queue = fake.add_tag(QUEUE_TAG)
    mine = fake.add_tag("My Favourite")
    for i in range(1, scenes + 1):
        oshash = f"{i:016x}"
        scene = fake.add_scene(
            FakeScene(str(i), f"Scene {i}", f"/nowhere/{i}.mp4", oshash, duration=30.0)
        )
        scene.sprite, scene.vtt = small_sprite(i, oshash)
        scene.cover = cover(i)
        scene.tag_ids.append(queue)
        if i % user_tag_every == 0:
            scene.tag_ids.append(mine)
            mid = fake.next_id("marker")
            fake.markers[mid] = {
                "id": mid,
                "scene_id": str(i),
                "title": "my marker",
                "seconds": 1.0,
                "end_seconds": 2.0,
                "primary_tag_id": mine,
                "tag_ids": [],
            }
    return fake


def make_sync(
    stash_url: str, store: Store, endpoints: str, timeout_s: float = 5.0, **kw
) -> StashSync:
    conn = StashConnection(stash_url, API_KEY, timeout_s=timeout_s, attempts=5)
    settings = Settings(endpoints, **{"ocr_frames": "ends:1", "max_in_flight": 8, **kw})
    return StashSync(StashClient(conn), store, load_vocabulary(), settings)


def names(fake: FakeStash, scene_id: str) -> set[str]:
    return {fake.tags[t]["name"] for t in fake.scenes[scene_id].tag_ids}


def scene_state(fake: FakeStash, scene_id: str) -> tuple:
    tags = sorted(fake.tags[t]["name"] for t in fake.scenes[scene_id].tag_ids)
    markers = sorted(
        (m["title"], m["seconds"], m["end_seconds"])
        for m in fake.markers.values()
        if m["scene_id"] == scene_id
    )
    return tuple(tags), tuple(markers)


def problems(fake: FakeStash, user_tag_every: int = 10) -> list[str]:
    """Everything wrong with the library after a complete run (empty: all correct)."""
    out = []
    created = [t["name"].casefold() for t in fake.tags.values()]
    if len(created) != len(set(created)):
        out.append("a tag exists twice")
    for sid, scene in fake.scenes.items():
        got = names(fake, sid)
        if DONE_TAG not in got or QUEUE_TAG in got or ERROR_TAG in got:
            out.append(
                f"scene {sid}: workflow tags {sorted(got & {DONE_TAG, QUEUE_TAG, ERROR_TAG})}"
            )
        if len(scene.tag_ids) != len(set(scene.tag_ids)):
            out.append(f"scene {sid}: a tag twice")
        ours = [
            (m["title"], m["seconds"], m["end_seconds"])
            for m in fake.markers.values()
            if m["scene_id"] == sid and m["title"].startswith(MARKER_PREFIX)
        ]
        if len(ours) != len(set(ours)):
            out.append(f"scene {sid}: duplicated markers")
        if int(sid) % user_tag_every == 0:
            users = [m for m in fake.markers.values() if m["scene_id"] == sid]
            if "My Favourite" not in got or not any(m["title"] == "my marker" for m in users):
                out.append(f"scene {sid}: the user's tag or marker is gone")
    return out
