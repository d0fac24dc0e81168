"""Talking to Stash: GraphQL over stashapi's HTTP session, with timeouts and retries.

Only the operations stashtag needs, each written against the names of Stash's GraphQL schema
(stashapp/stash, ``graphql/schema``). Scene tags are only ever added or removed with
``bulkSceneUpdate`` (``ADD``/``REMOVE``): ``sceneUpdate(tag_ids)`` would replace the user's own
tags.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_fold(text: str) -> str:
    """Case folding as Stash's SQLite LIKE does it: ASCII letters only."""
    return text.translate(_ASCII_LOWER)


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


class Selection:
    """The items a ``find*`` query matches, fetched a page at a time while iterated.

    ``len()`` is Stash's count when the selection was made (a progress bar's total); memory
    holds one page, whatever the library's size. Iterating again asks Stash again."""

    def __init__(
        self,
        page: Callable[[int | None], tuple[int, list[dict]]],
        per_page: int,
        wrap: Callable[[dict], Any],
    ) -> None:
        self._page, self._per_page, self._wrap = page, per_page, wrap
        self.total, self._first = page(None)

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator:
        rows, self._first = self._first if self._first is not None else self._page(None)[1], None
        while rows:
            yield from (self._wrap(r) for r in rows)
            if len(rows) < self._per_page:
                return
            rows = self._page(int(rows[-1]["id"]))[1]


@dataclass(frozen=True)
class StashConnection:
    url: str  # http://host:port (no /graphql)
    api_key: str = ""
    session_cookie: str = ""
    timeout_s: float = 30.0
    attempts: int = 5
    verify_tls: bool = True  # False: accept a self-signed https Stash

    @classmethod
    def from_plugin(cls, server_connection: dict) -> StashConnection:
        """From the ``server_connection`` Stash passes a plugin on stdin. A plugin talks to the
        Stash that started it over loopback, where its certificate (issued for its public
        name, often self-signed) cannot match: TLS is not verified there."""
        host = server_connection.get("Host", "localhost")
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        scheme, port = server_connection.get("Scheme", "http"), server_connection.get("Port", 9999)
        url = f"{scheme}://{host}:{port}"
        cookie = (server_connection.get("SessionCookie") or {}).get("Value") or ""
        loopback = host in ("127.0.0.1", "localhost", "::1")
        return cls(url, server_connection.get("ApiKey", ""), cookie, verify_tls=not loopback)

    @classmethod
    def from_settings(cls, settings) -> StashConnection:
        """For the command line: ``stash_url``, ``stash_api_key``, ``stash_verify_tls``."""
        return cls(settings.stash_url, settings.stash_api_key, verify_tls=settings.stash_verify_tls)


class StashClient:
    """GraphQL calls with a timeout and retries on 5xx, timeouts and dropped connections."""

    def __init__(self, conn: StashConnection) -> None:
        from stashapi.classes import GQLWrapper

        wrapper = GQLWrapper()  # stashapi's configured requests session (JSON headers)
        self.session: requests.Session = wrapper.s
        self.conn = conn
        self.page_size = 100  # rows per find* page
        self.session.verify = conn.verify_tls
        if not conn.verify_tls:  # chosen by the user: once is enough to have been told
            import warnings

            warnings.filterwarnings("ignore", message="Unverified HTTPS request")
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
        if response.status_code == 401 or (
            response.history and urlsplit(response.url).path.rstrip("/") == "/login"
        ):  # Stash redirects a refused request for a page-like URL to its login page
            raise StashError(
                f"GET {url}: Stash refused the credentials (API key or session cookie)"
            )
        if response.status_code != 200:
            raise StashError(f"GET {url}: HTTP {response.status_code}")
        return response.content

    def _paged(
        self, query: str, field_name: str, filter_var: str, criteria: dict, per_page: int, wrap
    ) -> Selection:
        """Every row of a ``find*`` query in id order, a page at a time (never ``per_page: -1``).

        Each page asks for ids above the last one seen (``id`` GREATER_THAN) instead of page
        numbers: a run that writes back while it reads (a queue tag removed) shrinks the result
        set, and page numbers would then skip rows. ``$f`` is the FindFilterType variable,
        ``filter_var`` the item filter's."""

        size = per_page or self.page_size

        def page(after: int | None) -> tuple[int, list[dict]]:
            crit = dict(criteria)
            if after is not None:
                crit["id"] = {"value": after, "modifier": "GREATER_THAN"}
            f = {"page": 1, "per_page": size, "sort": "id", "direction": "ASC"}
            data = self.gql(query, {filter_var: crit, "f": f})[field_name]
            return data["count"], data[next(k for k in data if k != "count")]

        return Selection(page, size, wrap)

    # --- scenes -------------------------------------------------------------------------------
    def find_scenes(
        self,
        tag_ids: list[str] | None = None,
        modifier: str = "INCLUDES",
        per_page: int | None = None,
    ) -> Selection:
        """Every scene matching the tag criterion (:class:`Selection`: streamed by pages)."""
        scene_filter = (
            {"tags": {"value": tag_ids, "modifier": modifier, "depth": 0}}
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

    def plugin_settings(self, plugin_id: str) -> dict:
        data = self.gql(
            "query C($ids: [ID!]) { configuration { plugins(include: $ids) } }",
            {"ids": [plugin_id]},
        )
        return (data["configuration"]["plugins"] or {}).get(plugin_id) or {}
