"""The kinds of Stash item a run tags: how each is selected, keyed in the store and loaded.

Scenes are sent as their sprite sheet (or, when Stash has none yet, decoded from the video file
if it is readable here); images as one still (their thumbnail, or the file itself); galleries are
not sent at all: their tags come from their images' (see :mod:`.galleries`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from stashtag_client.frames.scene_frames import OcrFinder, OcrView, SceneFrames
from stashtag_client.frames.sources import (
    RASTER_MAGIC,
    SceneSource,
    image_frames,
    image_size,
    sprite_frames,
)
from stashtag_client.settings import Settings
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.http import StashError
from stashtag_client.stash.models import StashScene
from stashtag_client.stash.selection import Selection
from stashtag_client.stash.tags import TagRegistry
from stashtag_client.stash.workflow import DONE_TAG, QUEUE_TAG
from stashtag_core.errors import InputError, StashtagError

# what a selection gives: a list, or a streamed Selection (a whole library, page by page)
Chosen = list | Selection


class StashItems:
    """One kind of item. ``extras``: the run also writes markers, studio, description and
    workflow tags (scenes only)."""

    kind = ""
    extras = False

    def __init__(self, client: StashClient, tags: TagRegistry, settings: Settings) -> None:
        self.client, self.tags, self.settings = client, tags, settings

    def key(self, item_id: str) -> str:
        """Where the store keeps the item's records."""
        return f"{self.kind}:{item_id}"

    def select(self, selection: str) -> Chosen:
        raise NotImplementedError

    def source(self, item, to_generate: set[str]) -> SceneSource:
        raise NotImplementedError

    @property
    def ocr_frames(self) -> str:
        return "none"  # studio watermarks are read from scenes only

    def studios(self) -> dict[str, str]:
        return {}


class Scenes(StashItems):
    kind = "scene"
    extras = True

    def key(self, item_id: str) -> str:
        return item_id

    def select(self, selection: str) -> Chosen:
        """``queued`` (AI_TagMe), ``untagged`` (not AI_Tagged), ``all`` or ``id:1,2,3``."""
        if selection.startswith("id:"):
            ids = list(dict.fromkeys(i.strip() for i in selection[3:].split(",") if i.strip()))
            bad = [i for i in ids if not i.isdigit()]
            if bad:  # Stash answers a non-numeric id with an error, not "not found"
                raise ValueError(f"selection {selection!r}: scene ids are numbers, not {bad}")
            found = [self.client.find_scene(i) for i in ids]
            return [s for s in found if s]
        if selection == "all":
            return self.client.find_scenes()
        tag = self.tags.get(QUEUE_TAG if selection == "queued" else DONE_TAG, create=False)
        if selection == "queued":
            return self.client.find_scenes([tag], "INCLUDES") if tag else []
        if selection == "untagged":
            return self.client.find_scenes([tag], "EXCLUDES") if tag else self.client.find_scenes()
        raise ValueError(f"unknown selection {selection!r}: queued, untagged, all or id:…")

    def source(self, scene: StashScene, to_generate: set[str]) -> SceneSource:
        """The scene's sprite; scenes without one are added to ``to_generate``. OCR reads the
        scene's screenshot and, where the video file is readable here, full-size frames."""

        def load():
            sprite = self.client.fetch(scene.sprite_url) if scene.sprite_url else None
            vtt = self.client.fetch(scene.vtt_url) if sprite is not None and scene.vtt_url else None
            if sprite is not None and vtt is not None:
                frames = sprite_frames(
                    scene.id, sprite, vtt, scene.duration, scene.sprite_url, scene.vtt_url
                )
                return replace(frames, ocr_finder=self._ocr_finder(scene, frames))
            to_generate.add(scene.id)
            missing = "sprite" if sprite is None else f"thumbnails VTT ({scene.vtt_url})"
            from stashtag_client.frames.video import load_video, video_readable

            if scene.path and Path(scene.path).is_file() and video_readable():
                frames = load_video(scene.id, Path(scene.path), 81, 320)
                return replace(frames, ocr_finder=self._ocr_finder(scene, frames))
            raise InputError(
                f"scene {scene.id} ({scene.title or scene.path}): no {missing} yet; sprite "
                "generation was queued in Stash and the next run tags it"
            )

        return SceneSource(scene.id, "stash", Path(scene.path or scene.id), loader=load)

    @staticmethod
    def _video(scene: StashScene) -> Path | None:
        """The scene's video file when this process can read it (the plugin runs beside it)."""
        from stashtag_client.frames.video import video_support

        if not scene.path or not Path(scene.path).is_file() or not video_support():
            return None
        return Path(scene.path)

    def _screenshot(self, scene: StashScene) -> OcrView | None:
        """The scene's cover as a one-frame view; ``None`` when Stash serves its placeholder
        (an SVG, for scenes without a cover) or nothing."""
        try:
            data = self.client.fetch(scene.screenshot_url) if scene.screenshot_url else None
        except StashError as exc:  # OCR falls back to the cells, saying why
            raise InputError(f"scene {scene.id}: screenshot unavailable ({exc})") from None
        if not data or not data.startswith(RASTER_MAGIC):
            return None
        try:
            w, h = image_size(data, scene.screenshot_url)
        except InputError:
            return None
        return OcrView(data, np.array([[0, 0, w, h]], np.int32), np.array([-1]), "screenshot")

    def _ocr_finder(self, scene: StashScene, frames: SceneFrames) -> OcrFinder:
        def find(subset: np.ndarray) -> list[OcrView]:
            views = []
            screenshot = self._screenshot(scene)
            if screenshot is not None:
                views.append(screenshot)
            video = self._video(scene)
            if video is not None:
                from stashtag_client.frames.video import ocr_finder

                views += ocr_finder(video, frames.times, int(frames.rects[0, 2]))(subset)
            return views

        return find

    @property
    def ocr_frames(self) -> str:
        return self.settings.ocr_frames

    def studios(self) -> dict[str, str]:
        return self.client.studios() if self.settings.studio else {}


class Images(StashItems):
    kind = "image"

    def select(self, selection: str) -> Chosen:
        """``all``, ``queued`` (AI_TagMe) or ``gallery:ID``."""
        if selection == "all":
            return self.client.find_images()
        if selection == "queued":
            tag = self.tags.get(QUEUE_TAG, create=False)
            return self.client.find_images([tag], "INCLUDES") if tag else []
        if selection.startswith("gallery:"):
            return self.client.find_images(gallery_ids=[selection.split(":", 1)[1]])
        raise ValueError(f"images: unknown selection {selection!r}: all, queued or gallery:ID")

    def source(self, image, to_generate: set[str]) -> SceneSource:
        """One still frame: the image's thumbnail (``full_images``: the file)."""
        key = self.key(image.id)

        def load():
            url = image.image_url if self.settings.full_images else image.thumbnail_url
            url = url or image.image_url
            data = self.client.fetch(url) if url else None
            if data is None:
                raise InputError(f"image {image.id} ({image.title or image.path}): {url} missing")
            return image_frames(key, data, image.path or url)

        return SceneSource(key, "image", Path(image.path or key), loader=load)


class Galleries(StashItems):
    kind = "gallery"

    def select(self, selection: str) -> Chosen:
        if selection != "all":
            raise ValueError(f"galleries: selection {selection!r} is not all")
        return self.client.find_galleries()

    def source(self, gallery, to_generate: set[str]) -> SceneSource:
        raise StashtagError(
            f"gallery {gallery.id}: galleries are tagged from their images (tag-galleries)"
        )


ITEMS: dict[str, type[StashItems]] = {c.kind: c for c in (Scenes, Images, Galleries)}
