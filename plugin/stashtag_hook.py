"""The ``Scene.Create.Post`` hook, standard library only: Stash runs it for every new scene of
a scan and waits for it, so it must cost next to nothing.

Off unless the plugin setting *Queue new scenes* is on; then it adds ``AI_TagMe`` to the new
scene (the next *Tag queued scenes* run, or ``stashtag stash --watch``, tags it). With *Tag on
create* a scene whose sprite Stash has generated is tagged at once by the client; one without a
sprite (a scan fires the hook before it makes sprites) gets its sprite generation and one *Tag
queued scenes* run queued in Stash's job queue behind the scan, never a video decoded here.
Nothing here imports the client, numpy or gRPC.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request

PLUGIN_ID = "stashtag"
QUEUE_TAG = "AI_TagMe"
QUEUE_KEY = "queueNewScenes"  # plugin settings (stashtag_client.settings declares them too)
TAG_NOW_KEY = "tagOnCreate"
TIMEOUT_S = 10
TAG_TASK = "Tag queued scenes"  # stashtag.yml's task; Stash describes its job as below
TAG_JOB = f"Running plugin task: {TAG_TASK}"


def _record(query: str, variables: dict | None, answer: dict) -> None:
    """As the client's STASHTAG_STASH_TRANSCRIPT: every exchange as a JSON line."""
    path = os.environ.get("STASHTAG_STASH_TRANSCRIPT")
    if path:
        line = {"query": query, "variables": variables or {}, "status": 200, "response": answer}
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


class HookError(Exception):
    """Stash refused or could not be reached; the message says which."""


class Stash:
    """GraphQL with the plugin's credentials: an API key if Stash passed one, else the
    session cookie Stash gives every plugin process."""

    def __init__(self, server: dict) -> None:
        host = server.get("Host", "localhost")
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.base = f"{server.get('Scheme', 'http')}://{host}:{server.get('Port', 9999)}"
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if server.get("ApiKey"):
            self.headers["ApiKey"] = server["ApiKey"]
        cookie = server.get("SessionCookie") or {}
        if cookie.get("Value"):
            self.headers["Cookie"] = f"{cookie.get('Name') or 'session'}={cookie['Value']}"
        # Stash over https on loopback: its certificate (often self-signed, issued for its
        # public name) cannot match 127.0.0.1, so it is not verified there (as the client)
        self.tls = None
        if self.base.startswith("https://") and host in ("127.0.0.1", "localhost", "::1"):
            self.tls = ssl._create_unverified_context()

    def gql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(self.base + "/graphql", body, self.headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=self.tls) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise HookError(f"Stash at {self.base}: {exc}") from None
        _record(query, variables, answer)
        if answer.get("errors"):
            raise HookError("; ".join(e.get("message", "?") for e in answer["errors"]))
        return answer.get("data") or {}

    def has_sprite(self, scene_id: str) -> bool:
        data = self.gql(
            "query S($id: ID!) { findScene(id: $id) { paths { sprite } } }", {"id": scene_id}
        )
        url = ((data.get("findScene") or {}).get("paths") or {}).get("sprite")
        if not url:
            return False
        request = urllib.request.Request(url, headers=self.headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=self.tls) as response:
                return response.status == 200 and "image" in response.headers.get(
                    "Content-Type", ""
                )
        except (urllib.error.URLError, OSError):
            return False

    def queue_tag_run(self) -> str | None:
        """Queue *Tag queued scenes* in Stash's job queue, behind the scan that made the scene
        and its sprite (seen in a real Stash: a scan fires this hook before it generates the
        sprites). One waiting run serves every scene of the scan: None when one waits already."""
        jobs = self.gql("query J { jobQueue { id status description } }").get("jobQueue") or []
        if any(j["status"] == "READY" and j["description"] == TAG_JOB for j in jobs):
            return None
        return self.gql(
            "mutation R($p: ID!, $t: String!) { runPluginTask(plugin_id: $p, task_name: $t) }",
            {"p": PLUGIN_ID, "t": TAG_TASK},
        )["runPluginTask"]

    def tag_id(self, name: str) -> str:
        """The tag named ``name`` (else the one with it as an alias), created if missing.
        Stash's filters are LIKE matches (``_`` matches any character): answers are checked."""
        for field in ("name", "aliases"):  # the name filter never looks at aliases
            data = self.gql(
                "query T($f: TagFilterType) { findTags(tag_filter: $f, filter: {per_page: 50}) "
                "{ tags { id name aliases } } }",
                {"f": {field: {"value": name, "modifier": "EQUALS"}}},
            )
            for tag in data["findTags"]["tags"]:
                names = [tag["name"]] if field == "name" else tag["aliases"]
                if name.lower() in (n.lower() for n in names):
                    return tag["id"]
        made = self.gql(
            "mutation C($i: TagCreateInput!) { tagCreate(input: $i) { id } }",
            {"i": {"name": name, "ignore_auto_tag": True}},
        )
        return made["tagCreate"]["id"]


def plugin_settings(stash: Stash) -> dict:
    data = stash.gql(f'query {{ configuration {{ plugins(include: ["{PLUGIN_ID}"]) }} }}')
    return (data["configuration"]["plugins"] or {}).get(PLUGIN_ID) or {}


def handle(payload: dict, log) -> tuple[dict, bool]:
    """Run the hook; returns (its output, whether the client should tag the scene now)."""
    context = payload["args"]["hookContext"]
    scene_id, kind = str(context.get("id")), context.get("type")
    stash = Stash(payload.get("server_connection") or {})
    settings = plugin_settings(stash)
    if not settings.get(QUEUE_KEY) and not settings.get(TAG_NOW_KEY):
        return {"hook": kind, "scene": scene_id, "action": "off"}, False
    if settings.get(TAG_NOW_KEY) and stash.has_sprite(scene_id):
        return {"hook": kind, "scene": scene_id, "action": "tag"}, True
    queue = stash.tag_id(QUEUE_TAG)
    stash.gql(
        "mutation Q($i: BulkSceneUpdateInput!) { bulkSceneUpdate(input: $i) { id } }",
        {"i": {"ids": [scene_id], "tag_ids": {"ids": [queue], "mode": "ADD"}}},
    )
    if settings.get(TAG_NOW_KEY):  # no sprite yet: Stash makes one, the next run tags it
        stash.gql(
            "mutation G($i: GenerateMetadataInput!) { metadataGenerate(input: $i) }",
            {"i": {"sprites": True, "sceneIDs": [scene_id]}},
        )
        job = stash.queue_tag_run()
        when = f"by the tag run queued behind it (job {job})" if job else "by the tag run queued"
        log("i", f"scene {scene_id}: no sprite yet; its generation was queued, tagged {when}")
    return {"hook": kind, "scene": scene_id, "action": "queued"}, False
