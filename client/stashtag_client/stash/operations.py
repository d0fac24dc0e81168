"""What Stash's web UI asks the plugin: ``runPluginOperation(plugin_id: "stashtag", args)``.

Stash starts the plugin once per call and waits, so an operation answers from the store's scene
index (and, for a search, one cached CLIP text embedding from Triton), never by reading every
record. ``args.op`` names the operation; each returns JSON the UI reads (``ui/src/api.ts``):

- ``search`` ``{text, limit, tag?, studio?}``: scenes whose best frame matches the text, with
  that frame's time; ``tag``/``studio`` (names, sub-tags and sub-studios included) narrow it;
- ``similar`` ``{scene_id, limit}``: nearest scenes by DINOv2, each with its duplicate check;
- ``duplicates``: groups of scenes confirmed as one video (frame alignment);
- ``mark_duplicates`` ``{scene_ids}``: tag the scenes the user chose as ``AI_Duplicate``;
- ``review``: scenes with pending ``AI Review: <tag>`` suggestions;
- ``decide`` ``{scene_id, accept, reject}``: settle suggestions as the review task does;
- ``status``: what the store holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from stashtag_client.settings import Settings
from stashtag_client.stash.answers import (
    Alignment,
    Card,
    DecideAnswer,
    DuplicateGroup,
    DuplicatesAnswer,
    DuplicateScene,
    Hit,
    MarkDuplicatesAnswer,
    Neighbour,
    Pair,
    ReviewAnswer,
    SearchAnswer,
    SimilarAnswer,
    StatusAnswer,
)
from stashtag_client.stash.client import StashClient
from stashtag_client.stash.workflow import DUPLICATE_TAG
from stashtag_client.store import Store
from stashtag_client.wiring import endpoint_pool, vocabulary
from stashtag_core.errors import StashtagError

CARD_FIELDS = (
    "id title files { basename duration width height size } paths { screenshot } studio { name }"
)
MAX_LIMIT = 200


class OperationError(StashtagError):
    """An operation the UI asked for cannot be answered (named, with what to do)."""


def cards(client: StashClient, ids: list[str]) -> dict[str, Card]:
    """What a scene card shows, for ``ids``, in one request (scenes Stash no longer has are
    left out: the store may remember deleted scenes)."""
    numeric = [int(i) for i in ids if str(i).isdigit()]
    if not numeric:
        return {}
    data = client.gql(
        f"query Cards($ids: [Int!], $f: FindFilterType) {{ findScenes(scene_ids: $ids, "
        f"filter: $f) {{ scenes {{ {CARD_FIELDS} }} }} }}",
        {"ids": numeric, "f": {"per_page": -1}},
    )
    out: dict[str, Card] = {}
    for s in data["findScenes"]["scenes"]:
        f = (s.get("files") or [{}])[0]
        out[str(s["id"])] = {
            "id": str(s["id"]),
            # a scanned scene has no title (""): Stash's own cards show the file's name then
            "title": s.get("title") or f.get("basename") or "",
            "screenshot": (s.get("paths") or {}).get("screenshot"),
            "duration": f.get("duration"),
            "width": f.get("width"),
            "height": f.get("height"),
            "size": f.get("size"),
            "studio": (s.get("studio") or {}).get("name"),
        }
    return out


def _id_order(key: str) -> tuple:
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def _limit(args: dict, default: int) -> int:
    try:
        value = int(args.get("limit") or default)
    except (TypeError, ValueError) as exc:
        raise OperationError(f"limit {args.get('limit')!r} is not a number") from exc
    return max(1, min(value, MAX_LIMIT))


def _model_id(store: Store) -> str:
    model_id = store.latest_model_id()
    if model_id is None:
        raise OperationError(
            f"the store {store.path} holds no tagged scenes yet: run the task Tag queued scenes"
            " (or Tag whole library) first"
        )
    return model_id


class Operations:
    """One call's context: the Stash client, the settings and the open store."""

    def __init__(
        self, client: StashClient, settings: Settings, store: Store, log: Callable
    ) -> None:
        self.client, self.settings, self.store, self.log = client, settings, store, log

    def run(self, args: dict):
        op = args.get("op")
        handler = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        if handler is None:
            known = sorted(n[3:] for n in dir(self) if n.startswith("op_"))
            raise OperationError(f"unknown operation {op!r} (known: {', '.join(known)})")
        return handler(args)

    def op_status(self, args: dict) -> StatusAnswer:
        model_id = self.store.latest_model_id()
        return {
            "store": str(self.store.path),
            "model_id": model_id,
            "scenes": self.store.count(model_id) if model_id else 0,
        }

    def op_search(self, args: dict) -> SearchAnswer:
        from stashtag_client.tagging.similarity import search

        text = str(args.get("text") or "").strip()
        if not text:
            raise OperationError("search: type what to look for, e.g. a beach at night")
        model_id = _model_id(self.store)
        among = self._filtered_scenes(args)
        query = self._embed(model_id, text)
        hits = search(self.store, model_id, query, _limit(args, 24), among)
        found = cards(self.client, [h.scene for h in hits])
        # a card plus more: mypy cannot follow ** into a TypedDict (the tests check the shape)
        rows = [
            cast(
                Hit,
                {**found[h.scene], "score": h.score, "frame": h.frame, "time": round(h.time, 2)},
            )
            for h in hits
            if h.scene in found
        ]
        return {"model_id": model_id, "text": text, "hits": rows, "filtered": among is not None}

    def _filtered_scenes(self, args: dict) -> set[str] | None:
        """The scenes with the ``tag`` (or a tag under it) and of the ``studio`` (or a studio
        under it) named in ``args``; None when neither is given. One ids-only query to Stash."""
        scene_filter = {}
        tag, studio = (str(args.get(k) or "").strip() for k in ("tag", "studio"))
        if tag:
            found = self.client.find_tag(tag)
            if not found:
                raise OperationError(f"search: Stash has no tag named {tag!r}")
            scene_filter["tags"] = {"value": [found["id"]], "modifier": "INCLUDES", "depth": -1}
        if studio:
            found = self.client.find_studio(studio)
            if not found:
                raise OperationError(f"search: Stash has no studio named {studio!r}")
            scene_filter["studios"] = {"value": [found["id"]], "modifier": "INCLUDES", "depth": -1}
        return set(self.client.scene_ids(scene_filter)) if scene_filter else None

    def _embed(self, model_id: str, text: str):
        cached = self.store.cached_text(model_id, [text])
        if text in cached:  # a query asked before: no server needed
            return cached[text]
        import asyncio

        from stashtag_client.inference.pipeline import server_model_id
        from stashtag_client.tagging.textbank import embed_prompts

        async def embed():
            # someone is waiting: the settings' timeout and attempts, ahead of bulk work
            async with endpoint_pool(self.settings, 1, interactive=True) as pool:
                served = await server_model_id(pool)
                if served != model_id:  # another model's text vectors would rank at random
                    raise OperationError(
                        f"search: Triton ({self.settings.endpoints}) serves model {served}, but"
                        f" the scenes in {self.store.path} were tagged with {model_id}; tag the"
                        " library with this server first (Tag whole library)"
                    )
                return (await embed_prompts(pool, self.store, model_id, [text]))[text]

        return asyncio.run(embed())

    def op_similar(self, args: dict) -> SimilarAnswer:
        from stashtag_client.tagging.similarity import (
            MIN_ALIGNED,
            SCENE_THRESHOLD,
            SceneIndex,
            frame_alignment,
        )

        scene = str(args.get("scene_id") or "")
        model_id = _model_id(self.store)
        index = SceneIndex.from_store(self.store, model_id)
        if scene not in index.keys:
            return {"scene_id": scene, "tagged": False, "neighbours": []}
        neighbours = index.similar(scene, _limit(args, 12))
        found = cards(self.client, [n.scene for n in neighbours])
        mine = self.store.get(scene, model_id)
        rows: list[Neighbour] = []
        for n in neighbours:
            if n.scene not in found:
                continue
            duplicate: Alignment | None = None
            if n.score >= SCENE_THRESHOLD:
                aligned, offset = frame_alignment(mine, self.store.get(n.scene, model_id))
                if aligned >= MIN_ALIGNED:
                    duplicate = {"aligned": round(aligned, 3), "offset_s": round(offset, 2)}
            rows.append(
                cast(Neighbour, {**found[n.scene], "score": n.score, "duplicate": duplicate})
            )
        return {"scene_id": scene, "tagged": True, "neighbours": rows}

    def op_duplicates(self, args: dict) -> DuplicatesAnswer:
        """Confirmed pairs joined into groups (a video stored three times is one group)."""
        from stashtag_client.tagging.similarity import find_duplicates

        pairs = find_duplicates(self.store, _model_id(self.store), keep=str.isdigit)
        group_of: dict[str, set[str]] = {}
        for d in pairs:
            joined = group_of.get(d.a, {d.a}) | group_of.get(d.b, {d.b})
            for scene in joined:
                group_of[scene] = joined
        found = cards(self.client, sorted(group_of))
        marked = self._scenes_tagged(DUPLICATE_TAG)
        groups: list[DuplicateGroup] = []
        for members in {id(g): g for g in group_of.values()}.values():
            rows = [
                cast(DuplicateScene, {**found[s], "marked": s in marked})
                for s in sorted(members, key=_id_order)
                if s in found  # Stash scenes only (a shared store may hold files and images)
            ]
            if len(rows) > 1:
                mine = [cast(Pair, vars(d)) for d in pairs if d.a in members]
                groups.append({"scenes": rows, "pairs": mine})
        return {"groups": groups}

    def _scenes_tagged(self, name: str) -> set[str]:
        tag = self.client.find_tag(name)
        if not tag:
            return set()
        return {s.id for s in self.client.find_scenes([tag["id"]], "INCLUDES")}

    def op_mark_duplicates(self, args: dict) -> MarkDuplicatesAnswer:
        """Tag the scenes the user chose (the copies to drop) ``AI_Duplicate``; stashtag's own
        tag, so Remove stashtag tags takes it away again."""
        ids = [str(i) for i in args.get("scene_ids") or []]
        if not ids:
            raise OperationError("mark_duplicates: no scene_ids given")
        self._sync().add_own_tag(ids, DUPLICATE_TAG)
        return {"marked": ids, "tag": DUPLICATE_TAG}

    def op_review(self, args: dict) -> ReviewAnswer:
        from stashtag_client.stash.review import pending_suggestions

        scenes = pending_suggestions(self.client, self.settings.review_parent)
        found = cards(self.client, [s for s, _ in scenes])
        return {
            "scenes": [
                {**found[s], "suggestions": suggestions} for s, suggestions in scenes if s in found
            ]
        }

    def op_decide(self, args: dict) -> DecideAnswer:
        from stashtag_client.stash.review import settle

        scene = self.client.find_scene(str(args.get("scene_id") or ""))
        if scene is None:
            raise OperationError(f"decide: scene {args.get('scene_id')!r} is not in Stash")
        accept = [str(n) for n in args.get("accept") or []]
        reject = [str(n) for n in args.get("reject") or []]
        accepted, rejected = settle(self._sync(), scene, accept, reject)
        return {"scene_id": scene.id, "accepted": accepted, "rejected": rejected}

    def _sync(self):
        from stashtag_client.stash.sync import StashSync

        return StashSync(
            self.client, self.store, vocabulary(self.settings), self.settings, self.log
        )
