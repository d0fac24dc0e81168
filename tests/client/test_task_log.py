"""What a task writes to Stash's log: one line per scene, and one hint for damaged sprites
(seen in a real Stash: a sprite file overwritten on disk fails its scene with a JPEG error)."""

from __future__ import annotations

from stashtag_client.stash.tasks import _summary, _tally
from stashtag_client.stash.workflow import SceneReport


def test_each_scene_is_logged_and_damaged_sprites_get_one_hint():
    logs: list[tuple[str, str]] = []
    tally = _tally(lambda level, msg: logs.append((level, msg)), None)
    tally.add(SceneReport("1", "tagged", added=["Beach"], markers=2))
    url = "http://127.0.0.1:9999/scene/b19708430f0ca292_sprite.jpg"
    tally.add(SceneReport("30", "error", error=f"/v/30.mp4: {url}: corrupt or truncated JPEG"))
    tally.add(SceneReport("31", "error", error="scene 31 (x): no sprite yet; sprite generation"))
    out = _summary(tally, lambda level, msg: logs.append((level, msg)), "scene(s)")
    assert out["tagged"] == 1 and out["errors"] == 2
    assert ("i", "1: tagged, +1 tag(s) (Beach), -0 tag(s), 2 marker(s)") in logs
    hints = [m for level, m in logs if level == "w"]
    assert len(hints) == 1 and "1 scene(s) have a damaged sprite (e.g. 30)" in hints[0]
