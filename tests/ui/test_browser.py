"""The plugin's pages in a real browser: headless Chromium (Debian's package, driven by
Playwright) on a stand-in of Stash's web UI (tests/ui/harness: Stash's library versions,
PluginApi and patch semantics) served by the fake Stash, whose ``runPluginOperation`` starts
our real plugin entry; a search embeds its text on the real Triton server.

Screenshots go to ``$STASHTAG_SCREENSHOTS`` when set (``docs/ui`` holds the committed ones).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from stashtag_client.store import SceneRecord, Store
from tests.fakestash import FakeScene, FakeStash, serve

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "plugin" / "ui"
QUERY = "a red car parked at night"
MATCH = ("3", 7)  # the scene and frame that show the query
STEP = 2.0  # seconds between stored frames
pytestmark = pytest.mark.slow


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "chromium is not installed (make test installs Debian's package when it can)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    """The stand-in built with plugin/ui/node_modules (``npm ci`` by ``make test``)."""
    if not (UI / "node_modules" / "esbuild").is_dir():
        pytest.fail(f"{UI}/node_modules is missing: run `npm ci --prefix {UI}` (make test does)")
    out = tmp_path_factory.mktemp("harness")
    done = subprocess.run(
        ["node", str(ROOT / "tests" / "ui" / "harness" / "build.mjs"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _served(triton) -> tuple[str, np.ndarray]:
    """(the served model id, the query's CLIP text embedding), asked of the real server."""
    from stashtag_client.inference.pipeline import server_model_id
    from stashtag_client.inference.transport import EndpointPool, parse_endpoints
    from stashtag_client.tagging.textbank import embed_prompts

    async def ask():
        async with EndpointPool(parse_endpoints(triton.options.grpc_url), 1) as pool:
            model_id = await server_model_id(pool)
            with Store(":memory:") as scratch:  # the plugin's store must not have it cached
                return model_id, (await embed_prompts(pool, scratch, model_id, [QUERY]))[QUERY]

    # Playwright's sync API keeps an event loop running on this thread: ask from another one
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, ask()).result()


def _covers() -> dict[str, bytes]:
    from stashtag.demo.photos import PHOTOS, photo_path

    return {str(i): photo_path(name).read_bytes() for i, name in enumerate(PHOTOS, start=1)}


@pytest.fixture()
def stash_ui(harness, triton, tmp_path):
    """(fake Stash, its URL, the plugin's store path) with six scenes: scene 3 shows the query at
    frame 7, scene 6 is scene 5 trimmed (a duplicate), scene 2 has two review suggestions."""
    model_id, text = _served(triton)
    rng = np.random.default_rng(3)
    fake = FakeStash("key")
    review = fake.add_tag("AI Review")
    covers = _covers()
    for i in range(1, 7):
        scene = FakeScene(str(i), f"Scene {i}", f"/media/{i}.mp4", f"{i:016x}", 60.0)
        scene.cover = covers[str(i)]
        fake.add_scene(scene)
    fake.scenes["5"].width, fake.scenes["5"].height, fake.scenes["5"].size = 1920, 1080, 9_000_000
    for name in ("Beach", "Night"):
        fake.scenes["2"].tag_ids.append(fake.add_tag(f"AI Review: {name}", parent_ids=[review]))
    store = tmp_path / "stashtag.db"
    fake.plugin_settings["stashtag"] = {
        "storePath": str(store),
        "1_tritonEndpoints": triton.options.grpc_url,
    }
    fake.installed["stashtag"] = (ROOT / "plugin", sys.executable)
    fake.ui_root = harness
    walk = _unit(rng.standard_normal(32) + np.cumsum(rng.standard_normal((30, 32)) * 0.15, axis=0))
    with Store(store) as db:
        for i in range(1, 7):
            clip = _unit(rng.standard_normal((30, len(text))))
            if str(i) == MATCH[0]:
                clip[MATCH[1]] = _unit(text + rng.standard_normal(len(text)) * 0.01)
            dino = {"5": walk, "6": _unit(walk + 0.01)[4:]}.get(str(i))
            dino = _unit(rng.standard_normal((30, 32))) if dino is None else dino
            clip = clip[: len(dino)]
            times = np.arange(len(dino)) * STEP
            empty = [np.zeros((0, 6), np.float32)] * len(dino)
            db.put(
                SceneRecord(str(i), model_id, str(i), "duration", times, clip, dino, dino, empty)
            )
    server, url = serve(fake)
    yield fake, url, store
    server.shutdown()


@pytest.fixture()
def page(browser, stash_ui):
    fake, url, _ = stash_ui
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "session", "value": fake.session_cookie, "url": url}])
    page = context.new_page()
    page.set_default_timeout(60_000)  # each operation starts a Python process
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.base = url
    yield page
    context.close()


def _shot(page, name: str) -> None:
    folder = os.environ.get("STASHTAG_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_search_finds_the_scene_whose_frame_matches_and_opens_it_there(page, stash_ui):
    fake, _, _ = stash_ui
    page.goto(page.base + "/")
    page.click("a.stashtag-nav")  # the nav entry
    page.wait_for_url("**/plugins/stashtag/search")
    page.fill("input[aria-label='Search the frames of your scenes']", QUERY)
    page.keyboard.press("Enter")
    first = page.locator(".stashtag-card").first
    first.wait_for()
    scene, frame = MATCH
    assert first.get_attribute("data-scene") == scene
    assert first.locator(".stashtag-at").inner_text() == f"0:{frame * STEP:02.0f}"
    assert page.locator(".stashtag-card").count() == 6
    _shot(page, "search")
    first.locator(".stashtag-title").click()
    page.wait_for_url(f"**/scenes/{scene}?t={frame * STEP:.0f}")
    player = page.locator(".scene-player")
    assert player.get_attribute("data-timestamp") == f"{frame * STEP:.0f}"
    assert fake.operations[-1]["args"] == {"op": "search", "text": QUERY, "limit": 24}
    assert page.problems == []


def _pick(page, which: str, text: str, name: str) -> None:
    """Choose ``name`` in Stash's picker for ``which`` (tag or studio) after typing ``text``."""
    picker = page.locator(f".stashtag-filter-{which}")
    picker.locator(".react-select__input").fill(text)
    picker.locator(".react-select__option", has_text=re.compile(f"^{re.escape(name)}$")).click()


def test_search_filters_by_tag_and_studio_and_keeps_them_in_the_url(page, stash_ui):
    """The filters are Stash's own TagSelect/StudioSelect, loaded with the chunk holding them
    (as in Stash v0.30.1); the URL keeps the chosen names."""
    fake, _, _ = stash_ui
    studio = fake.add_studio("Harbour Films")
    fake.scenes["3"].studio_id = fake.scenes["4"].studio_id = studio
    page.goto(page.base + "/plugins/stashtag/search")
    page.fill("input[aria-label='Search the frames of your scenes']", QUERY)
    _pick(page, "studio", "harbour", "Harbour Films")
    page.click("button:has-text('Search')")
    page.wait_for_url("**/plugins/stashtag/search?q=*&studio=Harbour+Films")
    page.locator(".stashtag-card").first.wait_for()
    cards = page.locator(".stashtag-card")
    assert [cards.nth(i).get_attribute("data-scene") for i in range(cards.count())] == ["3", "4"]
    # a parent tag matches its sub-tags' scenes (scene 2 has two "AI Review: …" tags)
    page.click(".stashtag-filter-studio .react-select__clear")
    _pick(page, "tag", "AI Rev", "AI Review")
    page.click("button:has-text('Search')")
    page.wait_for_url("**/plugins/stashtag/search?q=*&tag=AI+Review")
    page.wait_for_function("document.querySelectorAll('.stashtag-card').length === 1")
    assert page.locator(".stashtag-card").first.get_attribute("data-scene") == "2"
    # a link naming a tag that does not exist (the picker offers only existing ones)
    page.goto(page.url.replace("tag=AI+Review", "tag=No+Such+Tag"))
    assert "no tag named 'No Such Tag'" in page.locator(".alert-danger").inner_text()
    page.go_back()  # the previous search comes back from the URL
    page.wait_for_function("document.querySelectorAll('.stashtag-card').length === 1")
    assert page.locator(".stashtag-filter-tag .react-select__single-value").inner_text() == (
        "AI Review"
    )
    assert page.problems == []


def test_similar_tab_lists_neighbours_with_the_duplicate_marked(page):
    page.goto(page.base + "/scenes/5")
    page.click("text=Similar")
    cards = page.locator(".stashtag-similar .stashtag-card")
    cards.first.wait_for()
    assert cards.first.get_attribute("data-scene") == "6"
    assert "likely duplicate" in cards.first.inner_text()
    assert cards.count() == 5 and page.locator(".stashtag-duplicate").count() == 1
    _shot(page, "similar")
    assert page.problems == []


def test_review_accept_and_reject_change_the_tags_in_stash(page, stash_ui):
    fake, _, store = stash_ui
    page.goto(page.base + "/plugins/stashtag/review")
    card = page.locator(".stashtag-card[data-scene='2']")
    card.wait_for()
    _shot(page, "review")
    card.locator("button[title='Accept Beach']").click()
    page.locator(".harness-toast[data-variant='success']").first.wait_for()
    page.locator("button[title='Reject Night']").wait_for()
    assert {fake.tags[t]["name"] for t in fake.scenes["2"].tag_ids} == {
        "Beach",
        "AI Review: Night",
    }
    page.click("button[title='Reject Night']")
    page.locator("text=No suggestions wait for review.").wait_for()
    assert {fake.tags[t]["name"] for t in fake.scenes["2"].tag_ids} == {"Beach"}
    with Store(store) as db:
        verdicts = db.db.execute("SELECT tag, accepted FROM stash_review ORDER BY tag").fetchall()
    assert verdicts == [("Beach", 1), ("Night", 0)]
    assert page.problems == []


def test_duplicates_tags_the_chosen_copy(page, stash_ui):
    fake, _, _ = stash_ui
    page.goto(page.base + "/plugins/stashtag/duplicates")
    group = page.locator(".stashtag-group").first
    group.wait_for()
    assert [c.get_attribute("data-scene") for c in group.locator(".stashtag-card").all()] == [
        "5",
        "6",
    ]
    assert "keep (best copy)" in group.locator(".stashtag-card[data-scene='5']").inner_text()
    _shot(page, "duplicates")
    group.locator("text=Tag 1 selected AI_Duplicate").click()
    # the toast first (it hides after 8 s), then the page, reloaded, shows the mark
    assert "1 scene(s) tagged AI_Duplicate" in page.locator(".harness-toast").first.inner_text()
    marked = group.locator(".stashtag-card[data-scene='6'] .stashtag-marked")
    assert marked.inner_text() == "tagged AI_Duplicate"
    assert {fake.tags[t]["name"] for t in fake.scenes["6"].tag_ids} == {"AI_Duplicate"}
    assert fake.scenes["5"].tag_ids == []
    assert page.problems == []


def test_plugin_errors_show_as_a_message(page, stash_ui, tmp_path):
    fake, _, _ = stash_ui
    fake.plugin_settings["stashtag"]["1_tritonEndpoints"] = "127.0.0.1:9"  # nothing listens
    page.goto(page.base + "/plugins/stashtag/search?q=" + "a never asked query")
    error = page.locator(".stashtag-error")
    error.wait_for()
    assert "127.0.0.1:9" in error.inner_text()
    _shot(page, "error")
    fake.plugin_settings["stashtag"]["storePath"] = str(tmp_path / "empty.db")
    page.goto(page.base + "/plugins/stashtag/duplicates")
    page.locator(".stashtag-error >> text=holds no tagged scenes yet").wait_for()
    assert page.problems == []
