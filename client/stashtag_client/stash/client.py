"""Talking to Stash: GraphQL over stashapi's HTTP session, with timeouts and retries.

Only the operations stashtag needs, each written against the names of Stash's GraphQL schema
(stashapp/stash, ``graphql/schema``). Scene tags are only ever added or removed with
``bulkSceneUpdate`` (``ADD``/``REMOVE``): ``sceneUpdate(tag_ids)`` would replace the user's own
tags.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import requests

from stashtag_client.stash.models import (
    GALLERY_FIELDS,
    IMAGE_FIELDS,
    SCENE_FIELDS,
    StashGallery,
    StashImage,
    StashScene,
)
from stashtag_core.errors import StashtagError

RETRY_STATUS = {500, 502, 503, 504}


class StashError(StashtagError):
    """Stash refused a request or could not be reached; the message says which and why."""


class StashUncertain(StashError):
    """A create may or may not have been applied: the answer was lost."""


def _surely_unsent(exc: Exception) -> bool:
    """Whether a failed request never reached Stash (so re-sending can't apply it twice)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


@dataclass(frozen=True)
class StashConnection:
    url: str  # http://host:port (no /graphql)
    api_key: str = ""
    session_cookie: str = ""
    timeout_s: float = 30.0
    attempts: int = 5

    @classmethod
    def from_plugin(cls, server_connection: dict) -> StashConnection:
        """From the ``server_connection`` Stash passes a plugin on stdin."""
        host = server_connection.get("Host", "localhost")
        host = "127.0.0.1" if host == "0.0.0.0" else host
        scheme, port = server_connection.get("Scheme", "http"), server_connection.get("Port", 9999)
        url = f"{scheme}://{host}:{port}"
        cookie = (server_connection.get("SessionCookie") or {}).get("Value", "")
        return cls(url, server_connection.get("ApiKey", ""), cookie)


class StashClient:
    """GraphQL calls with a timeout and retries on 5xx, timeouts and dropped connections."""

    def __init__(self, conn: StashConnection) -> None:
        from stashapi.classes import GQLWrapper

        wrapper = GQLWrapper()  # stashapi's configured requests session (JSON headers)
        self.session: requests.Session = wrapper.s
        self.conn = conn
        self.graphql_url = conn.url.rstrip("/") + "/graphql"
        if conn.api_key:
            self.session.headers["ApiKey"] = conn.api_key
        if conn.session_cookie:
            self.session.cookies.set("session", conn.session_cookie)

    def _post(self, fn, what: str, idempotent: bool = True):
        last = ""
        for attempt in range(self.conn.attempts):
            try:
                response = fn()
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{exc.__class__.__name__}: {exc}"
                if not idempotent and not _surely_unsent(exc):
                    raise StashUncertain(
                        f"{what}: the connection failed after the request was sent ({last});"
                        " whether Stash applied it is unknown"
                    ) from None
            else:
                if response.status_code == 401:
                    raise StashError(f"{what}: 401 unauthorised: check the Stash API key")
                if response.status_code not in RETRY_STATUS:
                    return response
                last = f"HTTP {response.status_code}"
            time.sleep(random.uniform(0, min(8.0, 0.25 * 2**attempt)))
        raise StashError(f"{what}: Stash did not answer after {self.conn.attempts} tries ({last})")

    def gql(self, query: str, variables: dict | None = None, idempotent: bool = True) -> dict:
        """Run one GraphQL operation; errors in the answer raise :class:`StashError`.

        A non-idempotent mutation (a create) is not re-sent once it may have reached Stash:
        :class:`StashUncertain` tells the caller to look before trying again."""
        name = query.split("(")[0].split("{")[0].strip() or "query"
        response = self._post(
            lambda: self.session.post(
                self.graphql_url,
                json={"query": query, "variables": variables or {}},
                timeout=self.conn.timeout_s,
            ),
            f"Stash {name}",
            idempotent,
        )
        try:
            body = response.json()
        except ValueError:
            raise StashError(f"Stash {name}: HTTP {response.status_code}, not JSON") from None
        if body.get("errors"):
            raise StashError(
                f"Stash {name}: " + "; ".join(e.get("message", "?") for e in body["errors"])
            )
        if response.status_code != 200 or body.get("data") is None:
            raise StashError(f"Stash {name}: HTTP {response.status_code} without data")
        return body["data"]

    def fetch(self, url: str) -> bytes | None:
        """GET a generated file (sprite, VTT) with the same auth; ``None`` when it is missing."""
        response = self._post(
            lambda: self.session.get(url, timeout=self.conn.timeout_s), f"GET {url}"
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise StashError(f"GET {url}: HTTP {response.status_code}")
        return response.content

    def _paged(self, query: str, field_name: str, variables: dict, per_page: int) -> list[dict]:
        """Every row of a ``find*`` query, page by page in id order (never ``per_page: -1``);
        ``$f`` is the query's FindFilterType variable."""
        items, page = [], 1
        while True:
            f = {"page": page, "per_page": per_page, "sort": "id", "direction": "ASC"}
            data = self.gql(query, {**variables, "f": f})[field_name]
            key = next(k for k in data if k != "count")
            items += data[key]
            if not data[key] or len(items) >= data["count"]:
                return items
            page += 1

    # --- scenes -------------------------------------------------------------------------------
    def find_scenes(
        self, tag_ids: list[str] | None = None, modifier: str = "INCLUDES", per_page: int = 100
    ) -> list[StashScene]:
        """Every scene matching the tag criterion, page by page (never ``per_page: -1``)."""
        scene_filter = (
            {"tags": {"value": tag_ids, "modifier": modifier, "depth": 0}}
            if (tag_ids is not None)
            else {}
        )
        rows = self._paged(
            f"query FindScenes($sf: SceneFilterType, $f: FindFilterType) {{ findScenes("
            f"scene_filter: $sf, filter: $f) {{ count scenes {{ {SCENE_FIELDS} }} }} }}",
            "findScenes",
            {"sf": scene_filter},
            per_page,
        )
        return [StashScene.from_gql(s) for s in rows]

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
        per_page: int = 100,
    ) -> list[StashImage]:
        """Images matching the tag and gallery criteria, page by page."""
        image_filter: dict = {}
        if tag_ids is not None:
            image_filter["tags"] = {"value": tag_ids, "modifier": modifier, "depth": 0}
        if gallery_ids is not None:
            image_filter["galleries"] = {"value": gallery_ids, "modifier": "INCLUDES"}
        rows = self._paged(
            f"query FindImages($if: ImageFilterType, $f: FindFilterType) {{ findImages("
            f"image_filter: $if, filter: $f) {{ count images {{ {IMAGE_FIELDS} }} }} }}",
            "findImages",
            {"if": image_filter},
            per_page,
        )
        return [StashImage.from_gql(i) for i in rows]

    def find_galleries(self, per_page: int = 100) -> list[StashGallery]:
        rows = self._paged(
            f"query FindGalleries($f: FindFilterType) {{ findGalleries(filter: $f) {{ count "
            f"galleries {{ {GALLERY_FIELDS} }} }} }}",
            "findGalleries",
            {},
            per_page,
        )
        return [StashGallery.from_gql(g) for g in rows]

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
    def find_tag(self, name: str) -> dict | None:
        """The tag whose name or alias equals ``name`` (case-insensitive). Stash's EQUALS is a
        LIKE match, so candidates are compared exactly here."""
        data = self.gql(
            "query FindTags($f: TagFilterType) { findTags(tag_filter: $f, filter: {per_page: 50})"
            " { tags { id name aliases parents { id } } } }",
            {"f": {"name": {"value": name, "modifier": "EQUALS"}}},
        )
        folded = name.casefold()
        for tag in data["findTags"]["tags"]:
            if folded in {n.casefold() for n in [tag["name"], *tag.get("aliases", [])]}:
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
        """name → id of every studio (paged)."""
        rows = self._paged(
            "query S($f: FindFilterType) { findStudios(filter: $f) { count studios { id name } } }",
            "findStudios",
            {},
            200,
        )
        return {s["name"]: s["id"] for s in rows}

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

    def plugin_settings(self, plugin_id: str) -> dict:
        data = self.gql(
            "query C($ids: [ID!]) { configuration { plugins(include: $ids) } }",
            {"ids": [plugin_id]},
        )
        return (data["configuration"]["plugins"] or {}).get(plugin_id) or {}
