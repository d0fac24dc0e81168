"""The Stash operations stashtag needs, each written against the names of Stash's GraphQL
schema (stashapp/stash, ``graphql/schema``). Scene tags are only ever added or removed with
``bulkSceneUpdate`` (``ADD``/``REMOVE``): ``sceneUpdate(tag_ids)`` would replace the user's own
tags.
"""

from __future__ import annotations

from pathlib import Path

from stashtag_client.stash.http import StashConnection, StashHttp
from stashtag_client.stash.models import (
    GALLERY_FIELDS,
    IMAGE_FIELDS,
    SCENE_FIELDS,
    StashGallery,
    StashImage,
    StashScene,
)
from stashtag_client.stash.selection import Selection, keyset_selection

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_fold(text: str) -> str:
    """Case folding as Stash's SQLite LIKE does it: ASCII letters only."""
    return text.translate(_ASCII_LOWER)


class StashClient(StashHttp):
    """Typed queries and mutations over :class:`StashHttp`."""

    page_size = 100  # rows per find* page

    def __init__(self, conn: StashConnection) -> None:
        super().__init__(conn)
        self._plugin_settings: dict[str, dict] = {}  # plugin id → its configuration, read once

    def _paged(
        self, query: str, field_name: str, filter_var: str, criteria: dict, per_page: int, wrap
    ) -> Selection:
        """Every row of a ``find*`` query (see :func:`keyset_selection`); ``$f`` is the
        FindFilterType variable, ``filter_var`` the item filter's."""
        size = per_page or self.page_size
        return keyset_selection(self.gql, query, field_name, filter_var, criteria, size, wrap)

    # --- scenes -------------------------------------------------------------------------------
    def find_scenes(
        self,
        tag_ids: list[str] | None = None,
        modifier: str = "INCLUDES",
        per_page: int | None = None,
        depth: int = 0,
    ) -> Selection:
        """Every scene matching the tag criterion (:class:`Selection`: streamed by pages);
        ``depth`` -1 matches the tags' descendants too."""
        scene_filter = (
            {"tags": {"value": tag_ids, "modifier": modifier, "depth": depth}}
            if (tag_ids is not None)
            else {}
        )
        return self._paged(
            f"query FindScenes($sf: SceneFilterType, $f: FindFilterType) {{ findScenes("
            f"scene_filter: $sf, filter: $f) {{ count scenes {{ {SCENE_FIELDS} }} }} }}",
            "findScenes",
            "sf",
            scene_filter,
            per_page,
            StashScene.from_gql,
        )

    def scene_ids(self, scene_filter: dict, per_page: int = 1000) -> list[str]:
        """The ids of every scene ``scene_filter`` (a SceneFilterType) matches, ids only."""
        selection = self._paged(
            "query SceneIds($sf: SceneFilterType, $f: FindFilterType) { findScenes("
            "scene_filter: $sf, filter: $f) { count scenes { id } } }",
            "findScenes",
            "sf",
            scene_filter,
            per_page,
            lambda row: row["id"],
        )
        return list(selection)

    def find_studio(self, name: str) -> dict | None:
        """The studio named ``name`` (case and accents folded), else the one with it as an alias."""
        query = (
            "query S($sf: StudioFilterType, $f: FindFilterType) { findStudios(studio_filter: $sf,"
            " filter: $f) { count studios { id name aliases } } }"
        )
        f = {"per_page": 50}
        for field in ("name", "aliases"):
            crit = {field: {"value": name, "modifier": "EQUALS"}}
            for studio in self.gql(query, {"sf": crit, "f": f})["findStudios"]["studios"]:
                names = [studio["name"]] if field == "name" else studio.get("aliases") or []
                if any(ascii_fold(n) == ascii_fold(name) for n in names):
                    return studio
        return None

    def find_scene(self, scene_id: str) -> StashScene | None:
        data = self.gql(
            f"query FindScene($id: ID!) {{ findScene(id: $id) {{ {SCENE_FIELDS} }} }}",
            {"id": scene_id},
        )
        return StashScene.from_gql(data["findScene"]) if data["findScene"] else None

    def scene_markers(self, scene_id: str) -> list[dict]:
        data = self.gql(
            "query Markers($id: ID!) { findScene(id: $id) { scene_markers { id title seconds "
            "end_seconds primary_tag { id name } } } }",
            {"id": scene_id},
        )
        return (data["findScene"] or {}).get("scene_markers") or []

    # --- images and galleries -------------------------------------------------------------------
    def find_images(
        self,
        tag_ids: list[str] | None = None,
        modifier: str = "INCLUDES",
        gallery_ids: list[str] | None = None,
        per_page: int | None = None,
    ) -> Selection:
        """Images matching the tag and gallery criteria, streamed by pages."""
        image_filter: dict = {}
        if tag_ids is not None:
            image_filter["tags"] = {"value": tag_ids, "modifier": modifier, "depth": 0}
        if gallery_ids is not None:
            image_filter["galleries"] = {"value": gallery_ids, "modifier": "INCLUDES"}
        return self._paged(
            f"query FindImages($if: ImageFilterType, $f: FindFilterType) {{ findImages("
            f"image_filter: $if, filter: $f) {{ count images {{ {IMAGE_FIELDS} }} }} }}",
            "findImages",
            "if",
            image_filter,
            per_page,
            StashImage.from_gql,
        )

    def find_galleries(self, per_page: int | None = None) -> Selection:
        return self._paged(
            f"query FindGalleries($gf: GalleryFilterType, $f: FindFilterType) {{ findGalleries("
            f"gallery_filter: $gf, filter: $f) {{ count galleries {{ {GALLERY_FIELDS} }} }} }}",
            "findGalleries",
            "gf",
            {},
            per_page,
            StashGallery.from_gql,
        )

    def update_tags(self, kind: str, ids: list[str], tag_ids: list[str], mode: str) -> None:
        """``ADD``/``REMOVE`` tags on scenes, images or galleries (their bulk updates)."""
        if mode not in ("ADD", "REMOVE"):
            raise ValueError("stashtag never SETs tags")
        if not ids or not tag_ids:
            return
        op = {"scene": "Scene", "image": "Image", "gallery": "Gallery"}[kind]
        self.gql(
            f"mutation Bulk($i: Bulk{op}UpdateInput!) {{ bulk{op}Update(input: $i) {{ id }} }}",
            {"i": {"ids": ids, "tag_ids": {"ids": tag_ids, "mode": mode}}},
        )

    # --- tags ---------------------------------------------------------------------------------
    def tags_like(self, name: str, field: str = "name") -> list[dict]:
        """Tags whose ``field`` (``name`` or ``aliases``) Stash matches to ``name`` with EQUALS:
        an SQL LIKE, so ``_`` and ``%`` match any character and case folds for ASCII only."""
        data = self.gql(
            "query FindTags($f: TagFilterType) { findTags(tag_filter: $f, filter: {per_page: 50})"
            " { tags { id name aliases parents { id } } } }",
            {"f": {field: {"value": name, "modifier": "EQUALS"}}},
        )
        return data["findTags"]["tags"]

    def find_tag(self, name: str) -> dict | None:
        """The tag named ``name``, or else the one with ``name`` as an alias (Stash's name
        filter never looks at aliases); LIKE's wildcard matches are not taken for it."""
        for field in ("name", "aliases"):
            for tag in self.tags_like(name, field):
                names = [tag["name"]] if field == "name" else tag.get("aliases", [])
                if any(ascii_fold(n) == ascii_fold(name) for n in names):
                    return tag
        return None

    def create_tag(self, name: str, parent_id: str | None, description: str) -> dict:
        data = self.gql(
            "mutation TagCreate($i: TagCreateInput!) { tagCreate(input: $i) { id name } }",
            {
                "i": {
                    "name": name,
                    "description": description,
                    "ignore_auto_tag": True,
                    "parent_ids": [parent_id] if parent_id else [],
                }
            },
            idempotent=False,
        )
        return data["tagCreate"]

    def update_scene_tags(self, scene_ids: list[str], tag_ids: list[str], mode: str) -> None:
        """``ADD`` or ``REMOVE`` tags on scenes, leaving every other tag alone."""
        self.update_tags("scene", scene_ids, tag_ids, mode)

    # --- markers, studios, generation ------------------------------------------------------------
    def create_marker(
        self, scene_id: str, tag_id: str, title: str, start: float, end: float
    ) -> str:
        data = self.gql(
            "mutation M($i: SceneMarkerCreateInput!) { sceneMarkerCreate(input: $i) { id } }",
            {
                "i": {
                    "scene_id": scene_id,
                    "primary_tag_id": tag_id,
                    "title": title,
                    "seconds": start,
                    "end_seconds": end,
                    "tag_ids": [],
                }
            },
            idempotent=False,
        )
        return data["sceneMarkerCreate"]["id"]

    def destroy_markers(self, ids: list[str]) -> None:
        if ids:
            self.gql("mutation D($ids: [ID!]!) { sceneMarkersDestroy(ids: $ids) }", {"ids": ids})

    def studios(self) -> dict[str, str]:
        """name → id of every studio, by page numbers (a run never changes studios)."""
        query = (
            "query S($f: FindFilterType) { findStudios(filter: $f) { count studios { id name } } }"
        )
        found: dict[str, str] = {}
        for page in range(1, 1_000_000):
            f = {"page": page, "per_page": 200, "sort": "id", "direction": "ASC"}
            data = self.gql(query, {"f": f})["findStudios"]
            found.update((s["name"], s["id"]) for s in data["studios"])
            if not data["studios"] or page * 200 >= data["count"]:
                return found
        return found

    def set_details(self, scene_id: str, details: str) -> None:
        self.gql(
            "mutation U($i: SceneUpdateInput!) { sceneUpdate(input: $i) { id } }",
            {"i": {"id": scene_id, "details": details}},
        )

    def set_studio(self, scene_id: str, studio_id: str) -> None:
        self.gql(
            "mutation U($i: SceneUpdateInput!) { sceneUpdate(input: $i) { id } }",
            {"i": {"id": scene_id, "studio_id": studio_id}},
        )

    def generate_sprites(self, scene_ids: list[str]) -> str:
        data = self.gql(
            "mutation G($i: GenerateMetadataInput!) { metadataGenerate(input: $i) }",
            {"i": {"sprites": True, "sceneIDs": scene_ids}},
        )
        return data["metadataGenerate"]

    def plugin_store(self, plugin_id: str) -> Path | None:
        """Where this Stash's plugin keeps its store, when its folder is on this machine: its
        *Store file* setting, else ``stashtag.db`` beside its manifest in Stash's plugins
        folder (a source install puts it one level down, under the source's local path)."""
        configured = self.plugin_settings(plugin_id).get("storePath")
        if configured:
            return Path(configured)
        data = self.gql("query { configuration { general { pluginsPath } } }")
        root = Path(data["configuration"]["general"]["pluginsPath"] or "")
        if not str(root) or not root.is_dir():
            return None
        found = sorted(root.glob(f"*/{plugin_id}.yml")) + sorted(root.glob(f"*/*/{plugin_id}.yml"))
        return found[0].parent / "stashtag.db" if found else None

    def plugin_settings(self, plugin_id: str, fresh: bool = False) -> dict:
        """A plugin's configuration, read once per client (a plugin run reads it for its
        settings, its store and its instance id); ``fresh`` asks Stash again."""
        cache = self._plugin_settings
        if fresh or plugin_id not in cache:
            data = self.gql(
                "query C($ids: [ID!]) { configuration { plugins(include: $ids) } }",
                {"ids": [plugin_id]},
            )
            cache[plugin_id] = (data["configuration"]["plugins"] or {}).get(plugin_id) or {}
        return dict(cache[plugin_id])

    def configure_plugin(self, plugin_id: str, settings: dict) -> dict:
        """Replace a plugin's whole configuration (Stash keeps no other keys)."""
        data = self.gql(
            "mutation P($id: ID!, $input: Map!) { configurePlugin(plugin_id: $id, input: $input) }",
            {"id": plugin_id, "input": settings},
        )
        saved = data["configurePlugin"] or {}
        self._plugin_settings[plugin_id] = saved
        return dict(saved)
