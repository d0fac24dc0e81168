"""A fake Stash server over real HTTP for tests: GraphQL (graphql-core) + sprite/VTT files.

It follows the real schema's names and semantics that stashtag relies on (../shared/stash-api.md),
as Stash's Go code has them: ``sceneUpdate`` replaces tags, ``bulkSceneUpdate`` has
ADD/REMOVE/SET, tag names are unique across names *and* aliases by Stash's LIKE check,
``EQUALS`` behaves like SQL LIKE (ASCII-only case folding, ``%``/``_`` wildcards), the tag
``name`` filter looks at names only, a tags criterion without values matches everything,
``Scene`` has no ``duration`` (it lives on ``files``), sprite URLs 404 until
``metadataGenerate`` ran, ``ApiKey`` auth, and unknown fields are errors (GraphQL validation).
Faults can be injected: HTTP 500s, delays, dropped connections.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from graphql import build_schema, graphql_sync

# What Stash v0.30.1 wrote to a plugin's stdin (recorded in a real Stash, cookie redacted).
RECORDED_STDIN = (
    Path(__file__).parent / "client" / "data" / "real_stash" / "01_tag_queued.stdin.json"
)


def plugin_stdin(base_url: str, session_cookie: str, plugin_dir, config_dir, args: dict) -> dict:
    """A plugin's stdin as Stash writes it: never an ``ApiKey`` (plugins authenticate with the
    session cookie, a Go ``http.Cookie``), the config folder as ``Dir``; hook contexts carry
    the item's id as a number and ``input: null``."""
    payload = json.loads(RECORDED_STDIN.read_text(encoding="utf-8"))
    sc = payload["server_connection"]
    scheme, rest = base_url.split("://")
    host, port = rest.split(":")
    sc.update(Scheme=scheme, Host=host, Port=int(port), Dir=str(config_dir))
    sc["PluginDir"] = str(plugin_dir)
    sc["SessionCookie"]["Value"] = session_cookie
    payload["args"] = args
    return payload


SDL = """
scalar Map
scalar Any
scalar Int64
enum CriterionModifier { EQUALS NOT_EQUALS GREATER_THAN LESS_THAN IS_NULL NOT_NULL
  INCLUDES_ALL INCLUDES EXCLUDES MATCHES_REGEX NOT_MATCHES_REGEX BETWEEN NOT_BETWEEN }
enum BulkUpdateIdMode { SET ADD REMOVE }
enum SortDirectionEnum { ASC DESC }

input FindFilterType { q: String page: Int per_page: Int sort: String direction: SortDirectionEnum }
input StringCriterionInput { value: String! modifier: CriterionModifier! }
input HierarchicalMultiCriterionInput { value: [ID!] modifier: CriterionModifier! depth: Int
  excludes: [ID!] }
input IntCriterionInput { value: Int! value2: Int modifier: CriterionModifier! }
input SceneFilterType { tags: HierarchicalMultiCriterionInput id: IntCriterionInput
  studios: HierarchicalMultiCriterionInput }
input TagFilterType { name: StringCriterionInput aliases: StringCriterionInput }
input StudioFilterType { name: StringCriterionInput aliases: StringCriterionInput }
input SceneMarkerFilterType { scenes: HierarchicalMultiCriterionInput }
input MultiCriterionInput { value: [ID!] modifier: CriterionModifier! excludes: [ID!] }
input ImageFilterType { tags: HierarchicalMultiCriterionInput galleries: MultiCriterionInput
  id: IntCriterionInput }
input GalleryFilterType { tags: HierarchicalMultiCriterionInput id: IntCriterionInput }

type VideoFile { id: ID! path: String! basename: String! size: Int64! duration: Float! width: Int!
  height: Int! frame_rate: Float! fingerprint(type: String!): String }
type ScenePathsType { screenshot: String preview: String stream: String webp: String vtt: String
  sprite: String }
type Tag { id: ID! name: String! aliases: [String!]! ignore_auto_tag: Boolean!
  description: String parents: [Tag!]! }
type Studio { id: ID! name: String! aliases: [String!]! }
type SceneMarker { id: ID! scene: Scene! title: String! seconds: Float! end_seconds: Float
  primary_tag: Tag! tags: [Tag!]! }
type Scene { id: ID! title: String details: String files: [VideoFile!]!
  paths: ScenePathsType! tags: [Tag!]! studio: Studio scene_markers: [SceneMarker!]! }
type FindScenesResultType { count: Int! scenes: [Scene!]! }
type ImageFile { id: ID! path: String! basename: String! width: Int! height: Int! }
union VisualFile = VideoFile | ImageFile
type ImagePathsType { thumbnail: String preview: String image: String }
type Gallery { id: ID! title: String image_count: Int! tags: [Tag!]! }
type Image { id: ID! title: String visual_files: [VisualFile!]! paths: ImagePathsType!
  galleries: [Gallery!]! tags: [Tag!]! }
type FindImagesResultType { count: Int! megapixels: Float! filesize: Float! images: [Image!]! }
type FindGalleriesResultType { count: Int! galleries: [Gallery!]! }
type FindTagsResultType { count: Int! tags: [Tag!]! }
type FindStudiosResultType { count: Int! studios: [Studio!]! }
type FindSceneMarkersResultType { count: Int! scene_markers: [SceneMarker!]! }
type ConfigGeneralResult { apiKey: String! pluginsPath: String! }
type ConfigResult { general: ConfigGeneralResult! plugins(include: [ID!]): Map! }
type Version { version: String }
enum JobStatus { READY RUNNING FINISHED STOPPING CANCELLED FAILED }
type Job { id: ID! status: JobStatus! subTasks: [String!] description: String! progress: Float }
type PluginPaths { javascript: [String!] css: [String!] }
type Plugin { id: ID! name: String! enabled: Boolean! requires: [ID!] paths: PluginPaths! }

input TagCreateInput { name: String! description: String aliases: [String!]
  ignore_auto_tag: Boolean parent_ids: [ID!] }
input SceneUpdateInput { id: ID! title: String details: String tag_ids: [ID!] studio_id: ID }
input BulkUpdateIds { ids: [ID!] mode: BulkUpdateIdMode! }
input BulkSceneUpdateInput { ids: [ID!] tag_ids: BulkUpdateIds studio_id: ID }
input BulkImageUpdateInput { ids: [ID!] tag_ids: BulkUpdateIds gallery_ids: BulkUpdateIds }
input BulkGalleryUpdateInput { ids: [ID!] tag_ids: BulkUpdateIds }
input SceneMarkerCreateInput { title: String! seconds: Float! end_seconds: Float scene_id: ID!
  primary_tag_id: ID! tag_ids: [ID!] }
input GenerateMetadataInput { sprites: Boolean previews: Boolean sceneIDs: [ID!]
  overwrite: Boolean }

type Query {
  findScenes(scene_filter: SceneFilterType, filter: FindFilterType, scene_ids: [Int!]):
    FindScenesResultType!
  findScene(id: ID!): Scene
  findTags(tag_filter: TagFilterType, filter: FindFilterType): FindTagsResultType!
  findStudios(studio_filter: StudioFilterType, filter: FindFilterType): FindStudiosResultType!
  findSceneMarkers(scene_marker_filter: SceneMarkerFilterType, filter: FindFilterType):
    FindSceneMarkersResultType!
  findImages(image_filter: ImageFilterType, image_ids: [Int!], filter: FindFilterType):
    FindImagesResultType!
  findGalleries(gallery_filter: GalleryFilterType, filter: FindFilterType):
    FindGalleriesResultType!
  configuration: ConfigResult!
  version: Version!
  plugins: [Plugin!]
  jobQueue: [Job!]
}
type Mutation {
  tagCreate(input: TagCreateInput!): Tag
  sceneUpdate(input: SceneUpdateInput!): Scene
  bulkSceneUpdate(input: BulkSceneUpdateInput!): [Scene!]
  bulkImageUpdate(input: BulkImageUpdateInput!): [Image!]
  bulkGalleryUpdate(input: BulkGalleryUpdateInput!): [Gallery!]
  sceneMarkerCreate(input: SceneMarkerCreateInput!): SceneMarker
  sceneMarkerDestroy(id: ID!): Boolean!
  sceneMarkersDestroy(ids: [ID!]!): Boolean!
  metadataGenerate(input: GenerateMetadataInput!): ID!
  runPluginOperation(plugin_id: ID!, args: Map): Any
  configurePlugin(plugin_id: ID!, input: Map!): Map!
  runPluginTask(plugin_id: ID!, task_name: String, description: String, args_map: Map): ID!
}
"""


class GraphQLError(Exception):
    pass


def ascii_fold(text: str) -> str:
    """SQLite's LIKE folds ASCII letters only (Stash's build has no ICU): 'É' ≠ 'é'."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def like(pattern: str, value: str) -> bool:
    """SQL LIKE as Stash runs it: ``%`` and ``_`` are wildcards (never escaped), ASCII-only
    case folding. Stash's ``EQUALS`` on strings is this."""
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in ascii_fold(pattern)
    )
    return re.fullmatch(regex, ascii_fold(value), re.DOTALL) is not None


# internal/static/scene/scene.svg's shape: what Stash serves for a scene without a cover
PLACEHOLDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360">'
    b'<rect width="640" height="360" fill="#394b59"/></svg>'
)


@dataclass
class FakeScene:
    id: str
    title: str
    path: str
    oshash: str
    duration: float
    width: int = 1280
    height: int = 720
    tag_ids: list[str] = field(default_factory=list)
    studio_id: str | None = None
    sprite: bytes | None = None  # served only once generated
    vtt: str | None = None
    pending_sprite: tuple[bytes, str] | None = None  # what metadataGenerate will produce
    details: str | None = None
    cover: bytes | None = None  # the screenshot; without one Stash serves its placeholder SVG
    size: int = 1_000_000  # the file's bytes
    frame_rate: float = 25.0


@dataclass
class FakeImage:
    id: str
    title: str
    path: str
    data: bytes  # the image file; its thumbnail is served as is
    width: int
    height: int
    gallery_ids: list[str] = field(default_factory=list)
    tag_ids: list[str] = field(default_factory=list)
    # the same picture found again (a copy inside a zip gallery): Stash keeps one image with
    # several files, each listed in visual_files
    more_paths: list[str] = field(default_factory=list)


@dataclass
class FakeGallery:
    id: str
    title: str
    tag_ids: list[str] = field(default_factory=list)


@dataclass
class Faults:
    fail_next: int = 0  # answer the next N GraphQL requests with HTTP 500
    delay_next: int = 0  # delay the next N GraphQL requests by ``delay_s``
    delay_s: float = 0.0
    drop_next: int = 0  # close the connection without answering
    drop_after_next: int = 0  # run the next N mutations, then close without answering
    drop_after_match: str = ""  # ... only mutations whose text contains this
    fail_mutations_after: int | None = None  # 500 on every mutation after this many
    # A flaky Stash for a whole run: every Nth request gets the next fault of ``cycle``.
    every: int = 0
    cycle: tuple[str, ...] = ("500", "drop", "drop_after", "delay")
    seen: int = 0
    injected: dict[str, int] = field(default_factory=dict)

    def periodic(self, is_mutation: bool) -> str | None:
        """The fault for this request under ``every``/``cycle`` (drop_after: mutations only)."""
        if not self.every:
            return None
        self.seen += 1
        if self.seen % self.every:
            return None
        kind = self.cycle[(self.seen // self.every) % len(self.cycle)]
        if kind == "drop_after" and not is_mutation:
            kind = "drop"
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind


class FakeStash:
    """In-memory Stash state + the GraphQL resolvers."""

    def __init__(self, api_key: str = "secret") -> None:
        self.api_key = api_key
        self.session_cookie = "sess-" + api_key  # what Stash hands a plugin (SessionCookie)
        self.plugins_path = ""  # ConfigGeneralResult.pluginsPath
        self.scenes: dict[str, FakeScene] = {}
        self.images: dict[str, FakeImage] = {}
        self.galleries: dict[str, FakeGallery] = {}
        self.tags: dict[str, dict] = {}
        self.studios: dict[str, dict] = {}
        self.markers: dict[str, dict] = {}
        self.plugin_settings: dict[str, dict] = {}
        # installed plugins that runPluginOperation can start: id -> (folder, Python to run)
        self.installed: dict[str, tuple[Path, str]] = {}
        self.operations: list[dict] = []  # each runPluginOperation: args, seconds, stderr
        self.ui_root: Path | None = None  # a web UI's files (the stand-in): served for pages
        # what clients did, in order: ("sprite", scene id) and ("tags", mode, ids, tag ids)
        self.events: list[tuple] = []
        self.jobs: list[dict] = []  # metadataGenerate's (done at once)
        self.task_jobs: list[dict] = []  # runPluginTask's, queued until a test runs them
        self.requests: list[str] = []  # operation names / first words, for assertions
        self.mutations = 0
        self.faults = Faults()
        self.lock = threading.RLock()
        self._ids: dict[str, int] = {}  # per kind, as Stash's tables each count from 1
        self.schema = build_schema(SDL)
        self.base_url = ""

    # --- state helpers ------------------------------------------------------------------------
    def next_id(self, kind: str) -> str:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return str(self._ids[kind])

    def add_tag(self, name: str, aliases=(), parent_ids=(), ignore_auto_tag=False) -> str:
        self._check_unique(name, aliases)
        tid = self.next_id("tag")
        self.tags[tid] = {
            "id": tid,
            "name": name,
            "aliases": list(aliases),
            "ignore_auto_tag": ignore_auto_tag,
            "description": None,
            "parent_ids": list(parent_ids),
        }
        return tid

    def _check_unique(self, name: str, aliases) -> None:
        """pkg/tag/update.go EnsureTagNameUnique/EnsureAliasesUnique: ByName and ByAlias are
        unescaped LIKE queries, so ``AI_Tagged`` collides with an existing ``AI-Tagged``."""
        for n in [name, *aliases]:
            for t in self.tags.values():
                if like(n, t["name"]):
                    raise GraphQLError(f"tag with name '{n}' already exists")
                if any(like(n, a) for a in t["aliases"]):
                    raise GraphQLError(f"name '{n}' is used as alias for '{t['name']}'")

    def add_studio(self, name: str) -> str:
        sid = self.next_id("studio")
        self.studios[sid] = {"id": sid, "name": name, "aliases": []}
        return sid

    def add_scene(self, scene: FakeScene) -> FakeScene:
        self.scenes[scene.id] = scene
        return scene

    def add_image(self, image: FakeImage) -> FakeImage:
        self.images[image.id] = image
        return image

    def add_gallery(self, gallery: FakeGallery) -> FakeGallery:
        self.galleries[gallery.id] = gallery
        return gallery

    def tag_by_name(self, name: str) -> dict | None:
        return next(
            (t for t in self.tags.values() if t["name"].casefold() == name.casefold()), None
        )

    # --- serialisation --------------------------------------------------------------------------
    def _tag(self, tid: str) -> dict:
        t = self.tags[tid]
        return {**t, "parents": [self._tag(p) for p in t["parent_ids"] if p in self.tags]}

    def _scene(self, s: FakeScene) -> dict:
        base = f"{self.base_url}/scene/{s.oshash}"
        return {
            "id": s.id,
            "title": s.title,
            "details": s.details,
            "files": [
                {
                    "id": f"f{s.id}",
                    "path": s.path,
                    "basename": Path(s.path).name,
                    "size": s.size,
                    "duration": s.duration,
                    "width": s.width,
                    "height": s.height,
                    "frame_rate": s.frame_rate,
                    "fingerprint": lambda info, type: s.oshash if type == "oshash" else None,
                }
            ],
            # URLs exist even when the files were never generated (as in Stash)
            "paths": {
                "sprite": f"{base}_sprite.jpg",
                "vtt": f"{base}_thumbs.vtt",
                # urlbuilders.GetScreenshotURL: by scene id, ?t= the scene's updated_at
                "screenshot": f"{self.base_url}/scene/{s.id}/screenshot?t=1700000000",
                "preview": None,
                "stream": None,
                "webp": None,
            },
            "tags": [self._tag(t) for t in s.tag_ids if t in self.tags],
            "studio": self.studios.get(s.studio_id) if s.studio_id else None,
            "scene_markers": lambda info: [
                self._marker(m) for m in self.markers.values() if m["scene_id"] == s.id
            ],
        }

    def _gallery(self, g: FakeGallery) -> dict:
        return {
            "id": g.id,
            "title": g.title,
            "image_count": sum(g.id in i.gallery_ids for i in self.images.values()),
            "tags": [self._tag(t) for t in g.tag_ids if t in self.tags],
        }

    def _image(self, i: FakeImage) -> dict:
        return {
            "id": i.id,
            "title": i.title,
            "visual_files": [
                {
                    "__typename": "ImageFile",
                    "id": f"i{i.id}.{n}",
                    "path": path,
                    "basename": Path(path).name,
                    "width": i.width,
                    "height": i.height,
                }
                for n, path in enumerate([i.path, *i.more_paths])
            ],
            "paths": {
                "thumbnail": f"{self.base_url}/image/{i.id}/thumbnail",
                "preview": None,
                "image": f"{self.base_url}/image/{i.id}/image",
            },
            "galleries": [self._gallery(self.galleries[g]) for g in i.gallery_ids],
            "tags": [self._tag(t) for t in i.tag_ids if t in self.tags],
        }

    def _marker(self, m: dict) -> dict:
        return {
            **m,
            "scene": lambda info: self._scene(self.scenes[m["scene_id"]]),
            "primary_tag": self._tag(m["primary_tag_id"]),
            "tags": [self._tag(t) for t in m["tag_ids"]],
        }

    @staticmethod
    def _page(items: list, flt: dict | None) -> list:
        flt = flt or {}
        per_page = flt.get("per_page", 25)
        if per_page == -1:
            return items
        page = max(1, flt.get("page", 1))
        return items[(page - 1) * per_page : page * per_page]

    # --- resolvers ----------------------------------------------------------------------------
    def _filtered(self, items, item_filter: dict | None) -> list:
        """Items in id order, through the ``tags`` and ``id`` criteria Stash's filters share."""
        items = sorted(items, key=lambda i: int(i.id))
        crit = (item_filter or {}).get("tags")
        if crit:
            items = [i for i in items if self._tags_match(i.tag_ids, crit)]
        studios = (item_filter or {}).get("studios")
        if studios:  # the fake's studios have no parents: depth adds nothing
            items = [
                i
                for i in items
                if self._tags_match([i.studio_id] if getattr(i, "studio_id", None) else [], studios)
            ]
        ids = (item_filter or {}).get("id")
        if ids:
            items = [i for i in items if self._int_match(int(i.id), ids)]
        return items

    @staticmethod
    def _int_match(value: int, crit: dict) -> bool:
        """pkg/sqlite/filter.go intCriterionHandler."""
        a, b, mod = crit["value"], crit.get("value2"), crit["modifier"]
        if mod in ("BETWEEN", "NOT_BETWEEN"):
            inside = min(a, b or 0) <= value <= max(a, b or 0)
            return inside if mod == "BETWEEN" else not inside
        ops = {
            "EQUALS": value == a,
            "NOT_EQUALS": value != a,
            "GREATER_THAN": value > a,
            "LESS_THAN": value < a,
        }
        if mod not in ops:
            raise GraphQLError(f"modifier {mod} not supported for ints")
        return ops[mod]

    def findScenes(self, info, scene_filter=None, filter=None, scene_ids=None):
        scenes = self._filtered(self.scenes.values(), scene_filter)
        if scene_ids:
            scenes = [s for s in scenes if int(s.id) in scene_ids]
        return {
            "count": len(scenes),
            "scenes": [self._scene(s) for s in self._page(scenes, filter)],
        }

    def _descendants(self, tag_ids: set[str], depth: int) -> set[str]:
        """pkg/sqlite/criterion_handlers.go getHierarchicalValues: the tags and their children
        down ``depth`` levels (-1: all; none or 0: the tags themselves)."""
        found, level = set(tag_ids), set(tag_ids)
        while level and depth != 0:
            level = {t for t, v in self.tags.items() if set(v["parent_ids"]) & level} - found
            found |= level
            depth -= 1
        return found

    def _tags_match(self, tag_ids: list[str], crit: dict) -> bool:
        want, have = set(crit.get("value") or []), set(tag_ids)
        mod = crit["modifier"]
        if crit.get("depth") and mod in ("INCLUDES", "EXCLUDES"):
            want = self._descendants(want, crit["depth"])
        if not want and mod not in ("IS_NULL", "NOT_NULL"):
            # pkg/sqlite/criterion_handlers.go: a criterion without values filters nothing
            return True
        if mod == "NOT_NULL":
            return bool(have)
        if mod == "INCLUDES":
            return bool(want & have)
        if mod == "EXCLUDES":
            return not want & have
        if mod == "INCLUDES_ALL":
            return want <= have
        if mod == "IS_NULL":
            return not have
        raise GraphQLError(f"modifier {mod} not supported for tags")

    def findImages(self, info, image_filter=None, image_ids=None, filter=None):
        images = self._filtered(self.images.values(), image_filter)
        galleries = (image_filter or {}).get("galleries")
        if galleries:
            wanted = set(galleries.get("value") or [])
            images = [i for i in images if wanted & set(i.gallery_ids)]
        page = self._page(images, filter)
        return {
            "count": len(images),
            "megapixels": 0.0,
            "filesize": 0.0,
            "images": [self._image(i) for i in page],
        }

    def findGalleries(self, info, gallery_filter=None, filter=None):
        galleries = self._filtered(self.galleries.values(), gallery_filter)
        page = self._page(galleries, filter)
        return {"count": len(galleries), "galleries": [self._gallery(g) for g in page]}

    @staticmethod
    def _bulk_tags(items, upd: dict | None, tags: dict) -> None:
        if not upd:
            return
        ids = list(upd.get("ids") or [])
        for i in ids:
            if i not in tags:
                raise GraphQLError(f"tag {i} not found")
        for item in items:
            if upd["mode"] == "SET":
                item.tag_ids = list(dict.fromkeys(ids))
            elif upd["mode"] == "ADD":
                item.tag_ids = list(dict.fromkeys([*item.tag_ids, *ids]))
            else:
                item.tag_ids = [t for t in item.tag_ids if t not in ids]

    def bulkImageUpdate(self, info, input):
        items = [self.images[i] for i in input.get("ids") or [] if i in self.images]
        if len(items) != len(input.get("ids") or []):
            raise GraphQLError("image not found")
        self._bulk_tags(items, input.get("tag_ids"), self.tags)
        return [self._image(i) for i in items]

    def bulkGalleryUpdate(self, info, input):
        items = [self.galleries[i] for i in input.get("ids") or [] if i in self.galleries]
        if len(items) != len(input.get("ids") or []):
            raise GraphQLError("gallery not found")
        self._bulk_tags(items, input.get("tag_ids"), self.tags)
        return [self._gallery(g) for g in items]

    def findScene(self, info, id):
        if not id.lstrip("-").isdigit():  # resolver_query_find_scene.go: strconv.Atoi
            raise GraphQLError(f'strconv.Atoi: parsing "{id}": invalid syntax')
        s = self.scenes.get(id)
        return self._scene(s) if s else None

    def findTags(self, info, tag_filter=None, filter=None):
        tags = list(self.tags.values())
        for key in ("name", "aliases"):  # pkg/sqlite/tag_filter.go: each its own column
            crit = (tag_filter or {}).get(key)
            if not crit:
                continue
            if crit["modifier"] != "EQUALS":
                raise GraphQLError("only EQUALS is supported by the fake")
            if key == "name":
                tags = [t for t in tags if like(crit["value"], t["name"])]
            else:
                tags = [t for t in tags if any(like(crit["value"], a) for a in t["aliases"])]
        return {"count": len(tags), "tags": [self._tag(t["id"]) for t in self._page(tags, filter)]}

    def findStudios(self, info, studio_filter=None, filter=None):
        studios = list(self.studios.values())
        for key in ("name", "aliases"):
            crit = (studio_filter or {}).get(key)
            if crit and key == "name":
                studios = [s for s in studios if like(crit["value"], s["name"])]
            elif crit:
                studios = [s for s in studios if any(like(crit["value"], a) for a in s["aliases"])]
        return {"count": len(studios), "studios": self._page(studios, filter)}

    def findSceneMarkers(self, info, scene_marker_filter=None, filter=None):
        markers = list(self.markers.values())
        crit = (scene_marker_filter or {}).get("scenes")
        if crit:
            markers = [m for m in markers if m["scene_id"] in set(crit.get("value") or [])]
        return {
            "count": len(markers),
            "scene_markers": [self._marker(m) for m in self._page(markers, filter)],
        }

    def configuration(self, info):
        return {
            "general": {"apiKey": self.api_key, "pluginsPath": self.plugins_path},
            "plugins": lambda info, include=None: {
                k: v for k, v in self.plugin_settings.items() if not include or k in include
            },
        }

    def runPluginTask(self, info, plugin_id, task_name=None, description=None, args_map=None):
        """Queued, not run: the fake keeps the job as Stash lists it until a test runs it."""
        job = self.next_id("job")
        self.task_jobs.append(
            {"id": job, "status": "READY", "plugin_id": plugin_id, "task_name": task_name,
             "description": description or f"Running plugin task: {task_name}",
             "args_map": args_map}
        )  # fmt: skip
        return job

    def jobQueue(self, info):
        """Jobs not finished yet (Stash drops a job from its queue once it ends)."""
        live = [j for j in self.task_jobs if j["status"] in ("READY", "RUNNING")]
        return [{"subTasks": None, "progress": None, **j} for j in live] or None

    def configurePlugin(self, info, plugin_id, input):
        """Stash replaces the plugin's whole configuration with ``input``."""
        settings = self.plugin_settings.setdefault(plugin_id, {})
        settings.clear()  # in place: tests hold the dict to change settings between runs
        settings.update(input)
        return settings

    def version(self, info):
        return {"version": "v0.28.1-fake"}

    def tagCreate(self, info, input):
        for p in input.get("parent_ids") or []:
            if p not in self.tags:
                raise GraphQLError(f"parent tag {p} not found")
        tid = self.add_tag(
            input["name"],
            input.get("aliases") or [],
            input.get("parent_ids") or [],
            bool(input.get("ignore_auto_tag")),
        )
        self.tags[tid]["description"] = input.get("description")
        return self._tag(tid)

    def _scene_or_fail(self, sid: str) -> FakeScene:
        if sid not in self.scenes:
            raise GraphQLError(f"scene {sid} not found")
        return self.scenes[sid]

    def sceneUpdate(self, info, input):
        s = self._scene_or_fail(input["id"])
        if "tag_ids" in input:
            s.tag_ids = list(dict.fromkeys(input["tag_ids"]))  # replaces every tag
        if "studio_id" in input:
            s.studio_id = input["studio_id"]
        if "title" in input:
            s.title = input["title"]
        if "details" in input:
            s.details = input["details"]
        return self._scene(s)

    def bulkSceneUpdate(self, info, input):
        scenes = [self._scene_or_fail(i) for i in input.get("ids") or []]
        upd = input.get("tag_ids")
        if upd:
            self.events.append(("tags", upd["mode"], [s.id for s in scenes], list(upd["ids"])))
        for s in scenes:
            if upd:
                ids = [i for i in upd.get("ids") or []]
                for i in ids:
                    if i not in self.tags:
                        raise GraphQLError(f"tag {i} not found")
                if upd["mode"] == "SET":
                    s.tag_ids = list(dict.fromkeys(ids))
                elif upd["mode"] == "ADD":
                    s.tag_ids = list(dict.fromkeys([*s.tag_ids, *ids]))
                else:
                    s.tag_ids = [t for t in s.tag_ids if t not in ids]
            if "studio_id" in input:
                s.studio_id = input["studio_id"]
        return [self._scene(s) for s in scenes]

    def sceneMarkerCreate(self, info, input):
        for key in ("scene_id", "primary_tag_id", *(input.get("tag_ids") or [])):
            value = input.get(key, key)
            if not str(value).isdigit():
                raise GraphQLError(f'strconv.Atoi: parsing "{value}": invalid syntax')
        end = input.get("end_seconds")
        if end is not None and end < input["seconds"]:
            raise GraphQLError("end_seconds must be greater than or equal to seconds")
        self._scene_or_fail(input["scene_id"])
        if input["primary_tag_id"] not in self.tags:
            raise GraphQLError("primary tag not found")
        mid = self.next_id("marker")
        self.markers[mid] = {
            "id": mid,
            "scene_id": input["scene_id"],
            "title": input["title"],
            "seconds": input["seconds"],
            "end_seconds": input.get("end_seconds"),
            "primary_tag_id": input["primary_tag_id"],
            "tag_ids": list(input.get("tag_ids") or []),
        }
        return self._marker(self.markers[mid])

    def sceneMarkerDestroy(self, info, id):
        return self.markers.pop(id, None) is not None

    def sceneMarkersDestroy(self, info, ids):
        return all([self.markers.pop(i, None) is not None for i in ids])

    def metadataGenerate(self, info, input):
        job = self.next_id("job")
        self.jobs.append({"id": job, **input})
        if input.get("sprites"):
            for sid in input.get("sceneIDs") or list(self.scenes):
                s = self.scenes.get(sid)
                if s and s.pending_sprite and s.sprite is None:
                    s.sprite, s.vtt = s.pending_sprite
        return job

    def _manifest(self, plugin_id: str) -> dict:
        import yaml

        folder, _ = self.installed[plugin_id]
        return yaml.safe_load((folder / f"{plugin_id}.yml").read_text())

    def plugins_ui_files(self, plugin_id: str, kind: str) -> list[Path]:
        """pkg/plugin/config.go getJavascriptFiles/getCSSFiles: the manifest's local files."""
        ui = self._manifest(plugin_id).get("ui") or {}
        folder, _ = self.installed[plugin_id]
        return [folder / f for f in ui.get(kind) or [] if not f.startswith(("http://", "https://"))]

    def plugins(self, info):
        """internal/api/resolver_model_plugin.go: one URL per kind for a plugin's local files."""
        out = []
        for pid in self.installed:
            manifest = self._manifest(pid)
            paths = {}
            for kind, route in (("javascript", "javascript"), ("css", "css")):
                has = self.plugins_ui_files(pid, kind)
                paths[kind] = [f"{self.base_url}/plugin/{pid}/{route}"] if has else None
            out.append(
                {"id": pid, "name": manifest["name"], "enabled": True, "requires": [],
                 "paths": paths}
            )  # fmt: skip
        return out

    def runPluginOperation(self, info, plugin_id, args=None):
        """pkg/plugin/plugins.go RunPlugin + raw.go: the plugin's exec line run once, the
        input JSON on stdin (a session cookie, PluginDir = the manifest's folder), stdout read
        whole: a ``{"output", "error"}`` object if it parses, else the raw text as output; a
        non-zero exit without an error becomes one; an error is a GraphQL error."""
        import subprocess

        if plugin_id not in self.installed:
            raise GraphQLError(f"plugin {plugin_id} not found")
        folder, python = self.installed[plugin_id]
        payload = plugin_stdin(
            self.base_url, self.session_cookie, folder, folder.parent, args or {}
        )
        self.lock.release()  # the plugin calls back into this server while it runs
        try:
            start = time.perf_counter()
            proc = subprocess.run(
                [python, str(folder / "stashtag_plugin.py")],
                input=json.dumps(payload),
                capture_output=True,
                text=True,
                timeout=600,
                cwd=folder.parent.parent,
            )
            seconds = time.perf_counter() - start
        finally:
            self.lock.acquire()
        self.operations.append({"args": args, "seconds": seconds, "stderr": proc.stderr})
        try:
            out = json.loads(proc.stdout)
        except ValueError:
            out = None
        if isinstance(out, dict):
            result, error = out.get("output"), out.get("error")
        else:
            result, error = proc.stdout, None
        if proc.returncode and not error:
            error = f"exit status {proc.returncode}"
        if error:
            raise GraphQLError(error)
        return result

    # --- execution ----------------------------------------------------------------------------
    def execute(self, query: str, variables: dict | None) -> dict:
        with self.lock:
            is_mutation = query.lstrip().startswith("mutation")
            result = graphql_sync(self.schema, query, root_value=self, variable_values=variables)
            if is_mutation:
                self.mutations += 1
            out: dict = {"data": result.data}
            if result.errors:
                out["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
            return out


class _Handler(BaseHTTPRequestHandler):
    stash: FakeStash

    def log_message(self, *args) -> None:  # quiet
        pass

    def _authorised(self) -> bool:
        """internal/api/authentication.go: an API key or the session cookie; otherwise 401
        for GraphQL and files with an extension, a redirect to the login page for the rest
        (``/scene/1/screenshot``, ``/image/1/thumbnail``)."""
        cookies = dict(
            c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c
        )
        if self.headers.get("ApiKey") == self.stash.api_key:
            return True
        if cookies.get("session") == self.stash.session_cookie:
            return True
        ext = Path(self.path.split("?")[0]).suffix
        if self.path == "/graphql" or (ext and ext != ".html"):
            self.send_response(401)
            self.end_headers()
        else:
            self.send_response(302)
            self.send_header("Location", f"/login?returnURL={self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        return False

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        if self.path != "/graphql" or not self._authorised():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        f, query = self.stash.faults, body.get("query", "")
        self.stash.requests.append(query.split("{")[0].strip() or query[:40])
        is_mutation = query.lstrip().startswith("mutation")
        with self.stash.lock:
            kind = f.periodic(is_mutation)
            if kind == "drop" or f.drop_next > 0:
                if kind != "drop":
                    f.drop_next -= 1
                self._drop()
                return
            fail = (
                kind == "500"
                or f.fail_next > 0
                or (
                    is_mutation
                    and f.fail_mutations_after is not None
                    and self.stash.mutations >= f.fail_mutations_after
                )
            )
            if f.fail_next > 0:
                f.fail_next -= 1
            delay = f.delay_s if f.delay_next > 0 or kind == "delay" else 0.0
            if f.delay_next > 0:
                f.delay_next -= 1
            targeted = is_mutation and f.drop_after_next > 0 and f.drop_after_match in query
            drop_after = targeted or (is_mutation and kind == "drop_after")
            if targeted:
                f.drop_after_next -= 1
        if delay:
            time.sleep(delay)
        if fail:
            self._send(500, b'{"errors":[{"message":"internal error"}]}', "application/json")
            return
        out = self.stash.execute(query, body.get("variables"))
        if drop_after:  # applied, but the answer is lost
            self._drop()
            return
        self._send(200, json.dumps(out).encode(), "application/json")

    def _serve_ui(self) -> bool:
        """internal/api/routes_plugin.go: ``/plugin/{id}/javascript`` and ``/css`` serve the
        manifest's files concatenated, each followed by a newline; with a ``ui_root`` every page
        path (no extension) gets its index.html and ``/harness/*`` its files."""
        stash, path = self.stash, self.path.split("?")[0]
        m = re.fullmatch(r"/plugin/([^/]+)/(javascript|css)", path)
        if m:
            if m.group(1) not in stash.installed:
                self._send(404, b"Not Found", "text/plain")
                return True
            files = stash.plugins_ui_files(m.group(1), m.group(2))
            body = b"".join(f.read_bytes() + b"\n" for f in files if f.is_file())
            self._send(200, body, f"text/{m.group(2)}")
            return True
        root = stash.ui_root
        if root is None:
            return False
        if path.startswith("/harness/"):
            f = root / path.removeprefix("/harness/")
            kinds = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
            if f.is_file() and f.parent == root:
                self._send(200, f.read_bytes(), kinds.get(f.suffix, "application/octet-stream"))
            else:
                self._send(404, b"not found", "text/plain")
            return True
        if "." not in Path(path).name and not path.startswith(("/scene/", "/image/")):
            self._send(200, (root / "index.html").read_bytes(), "text/html; charset=utf-8")
            return True
        return False

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.close()

    def do_GET(self) -> None:
        if self.path.startswith("/login"):
            self._send(200, b"<!doctype html><title>Login</title>", "text/html; charset=utf-8")
            return
        if not self._authorised():
            return
        if self._serve_ui():
            return
        im = re.fullmatch(r"/image/(\d+)/(thumbnail|image)", self.path)
        if im:
            image = self.stash.images.get(im.group(1))
            if image is None:
                self._send(404, b"not found", "text/plain")
            else:
                self._send(200, image.data, "image/jpeg")
            return
        shot = re.fullmatch(r"/scene/(\d+)/screenshot(\?t=\d+)?", self.path)
        if shot:
            scene = self.stash.scenes.get(shot.group(1))
            if scene is None:
                self._send(404, b"not found", "text/plain")
            elif scene.cover is None:  # ServeScreenshot: the default scene image, HTTP 200
                self._send(200, PLACEHOLDER_SVG, "image/svg+xml")
            else:
                self._send(200, scene.cover, "image/jpeg")
            return
        m = re.fullmatch(r"/scene/([0-9a-f]+)_(sprite\.jpg|thumbs\.vtt)", self.path)
        scene = next((s for s in self.stash.scenes.values() if m and s.oshash == m.group(1)), None)
        if scene is None or scene.sprite is None:
            self._send(404, b"not found", "text/plain")
        elif m.group(2) == "sprite.jpg":
            self.stash.events.append(("sprite", scene.id))
            self._send(200, scene.sprite, "image/jpeg")
        elif scene.vtt is None:
            self._send(404, b"not found", "text/plain")
        else:
            vtt = scene.vtt if isinstance(scene.vtt, bytes) else scene.vtt.encode()
            self._send(200, vtt, "text/vtt")


def serve(stash: FakeStash, tls=None) -> tuple[ThreadingHTTPServer, str]:
    """Start the fake on a free loopback port; returns the server and its base URL.
    ``tls`` (an ``ssl.SSLContext`` with a certificate): serve https, as Stash does when it
    finds ``stash.crt``/``stash.key``."""
    handler = type("Handler", (_Handler,), {"stash": stash})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    stash.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, stash.base_url
