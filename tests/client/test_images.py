"""Stash images and galleries, end to end: fake Stash over HTTP, the real Triton fixture."""

from __future__ import annotations

import asyncio

import pytest

from stashtag.demo.samples import encode_jpeg, sprite_sheet
from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.galleries import gallery_result, tag_galleries
from stashtag_client.stash.http import StashConnection
from stashtag_client.stash.sync import StashSync
from stashtag_client.store import Store
from stashtag_client.tagging.mapping import map_scene
from stashtag_client.tagging.textbank import cached_text_bank
from stashtag_client.tagging.vocabulary import parse_vocabulary
from tests.fakestash import FakeGallery, FakeImage, FakeStash, serve

API_KEY = "k3y"
# one tag every image has and one none has: the expected tags do not hang on random weights
VOCAB = """
version: 1
aggregation: {method: fraction, min_fraction: 0.1, min_frames: 1}
tags:
  - {name: Always, prompts: a photo of something, threshold: 0.0}
  - {name: Never, prompts: a photo of nothing, threshold: 1.0}
"""


@pytest.fixture()
def library():
    fake = FakeStash(API_KEY)
    mine = fake.add_tag("Holiday")  # the user's own tag
    gallery = fake.add_gallery(FakeGallery("500", "Trip"))
    fake.add_gallery(FakeGallery("501", "Empty"))
    sheet = sprite_sheet(seed=3)
    for i in range(3):
        cell = sheet[:90, i * 160 : (i + 1) * 160]
        fake.add_image(
            FakeImage(str(600 + i), f"Photo {i}", f"/photos/{i}.jpg", encode_jpeg(cell), 160, 90)
        )
    fake.images["600"].gallery_ids.append(gallery.id)
    fake.images["601"].gallery_ids.append(gallery.id)
    fake.images["600"].tag_ids.append(mine)
    fake.add_image(FakeImage("603", "Broken", "/photos/broken.jpg", b"\xff\xd8\xff garbage", 1, 1))
    server, url = serve(fake)
    yield fake, url
    server.shutdown()


def syncs(url, store, triton):
    client = StashClient(StashConnection(url, API_KEY, timeout_s=5.0, attempts=3))
    settings = Settings(triton.options.grpc_url, ocr_frames="none")
    vocab = parse_vocabulary(VOCAB)
    return (StashSync(client, store, vocab, settings, kind=k) for k in ("image", "gallery"))


def names(fake, items) -> dict[str, set[str]]:
    return {k: {fake.tags[t]["name"] for t in v.tag_ids} for k, v in items.items()}


def test_images_and_galleries_tagged_end_to_end(library, triton, tmp_path):
    fake, url = library
    with Store(tmp_path / "s.db") as store:
        images, galleries = syncs(url, store, triton)
        reports = {r.scene_id: r for r in asyncio.run(images.run(images.scenes("all")))}
        assert [reports[i].status for i in ("600", "601", "602")] == ["tagged"] * 3
        assert reports["603"].status == "error" and "/photos/broken.jpg" in reports["603"].error
        assert store.get("image:600", store.model_ids()[0]).frames == 1
        assert names(fake, fake.images) == {
            "600": {"Holiday", "Always"},  # the user's tag stays
            "601": {"Always"},
            "602": {"Always"},
            "603": set(),
        }
        gallery_reports = {r.scene_id: r for r in tag_galleries(galleries, images)}
        assert gallery_reports["501"].status == "skipped"  # no images
        assert names(fake, fake.galleries) == {"500": {"Always"}, "501": set()}
        # the same decision as mapping the stored images directly
        model_id = store.model_ids()[0]
        bank = cached_text_bank(store, model_id, images.vocab)
        stored = [store.get(f"image:{i}", model_id) for i in ("600", "601")]
        expected = gallery_result("500", [map_scene(r, images.vocab, bank) for r in stored], 0.3)
        assert [t.name for t in expected.tags] == ["Always"]

        assert images.writer.undo(images.scenes("all")) == 3
        assert galleries.writer.undo(galleries.scenes("all")) == 1
        assert names(fake, fake.images)["600"] == {"Holiday"}
        assert all(not v.tag_ids for k, v in fake.images.items() if k != "600")
        assert not fake.galleries["500"].tag_ids


def test_gallery_share_and_minimum():
    from stashtag_client.tagging.mapping import SceneResult, TagHit

    def img(*tags):
        return SceneResult("x", tags=[TagHit(t, None, 1.0, "clip", (0,)) for t in tags])

    results = [img("Beach", "Sea"), img("Beach"), img("Beach", "Dog"), img("Sea")]
    assert [(t.name, t.score) for t in gallery_result("g", results, 0.5).tags] == [
        ("Beach", 0.75),
        ("Sea", 0.5),
    ]
    assert gallery_result("g", [img("Dog")], 0.3).tags[0].name == "Dog"  # one image: enough
    assert gallery_result("g", results, 0.3).tags[-1].name == "Sea"  # Dog: only one image
