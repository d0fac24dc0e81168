"""Scene descriptions: the template, a fake OpenAI-compatible server over real HTTP, and Stash
details written only where empty."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stashtag_client.tagging.descriptions import DescribeSettings, describe, template_description
from stashtag_client.tagging.mapping import SceneResult, StudioMatch, TagHit
from stashtag_core.errors import StashtagError
from tests.client.test_policy import library, retag, sync_for  # noqa: F401 - fixture

RESULT = SceneResult(
    "1",
    tags=[TagHit("Beach", None, 0.4, "clip", ()), TagHit("Sunset", None, 0.9, "clip", ())],
    studio=StudioMatch("Stashtag Demo", 97.0, "STASHTAG DEMO", 0),
    text=["STASHTAG DEMO", "ok"],
    objects=["dog", "person"],
)


class FakeLLM:
    """An OpenAI-compatible chat completions server: records requests, answers or fails."""

    def __init__(self, answer: str = "A dog runs on a beach at sunset.", status: int = 200):
        self.answer, self.status, self.requests = answer, status, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, dict(self.headers), body))
                payload = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": fake.answer}}]}
                ).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def llm():
    server = FakeLLM()
    yield server
    server.close()


def test_template_lists_the_facts_best_tags_first():
    text = template_description(RESULT, DescribeSettings())
    assert text == (
        "Tags: Sunset, Beach. Objects: dog, person. Studio: Stashtag Demo. "
        "On-screen text: STASHTAG DEMO."
    )
    assert template_description(RESULT, DescribeSettings(template="{studio}")) == (
        "Studio: Stashtag Demo."
    )
    with pytest.raises(StashtagError, match="fields are"):
        template_description(RESULT, DescribeSettings(template="{mood}"))


def test_endpoint_gets_the_facts_and_its_answer_is_used(llm):
    settings = DescribeSettings(endpoint=llm.url, model="qwen", api_key="s3")
    assert describe(RESULT, settings) == "A dog runs on a beach at sunset."
    path, headers, body = llm.requests[0]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer s3"
    assert body["model"] == "qwen" and "Tags: Sunset, Beach." in body["messages"][1]["content"]
    llm.status = 500
    with pytest.raises(StashtagError, match=r"/v1/chat/completions"):
        describe(RESULT, settings)


def test_details_written_only_where_empty(library, llm):  # noqa: F811 - fixture
    fake, url, store, lib = library
    mine, empty = lib.concept[0], lib.concept[1]
    fake.scenes[mine].details = "My own words."
    logs = []
    sync = sync_for(url, store, describe=True, describe_endpoint=llm.url)
    sync.log = lambda level, msg: logs.append((level, msg))
    reports = {r.scene_id: r for r in retag(sync)}
    assert fake.scenes[mine].details == "My own words."
    assert fake.scenes[empty].details == llm.answer == reports[empty].description
    # the endpoint away: the tags are written all the same, details left alone, a warning
    llm.close()
    other = lib.concept[2]
    fake.scenes[other].details = None
    for sid in (other,):
        fake.scenes[sid].tag_ids.clear()
    sync = sync_for(
        url,
        store,
        strategy="replace-own",
        describe=True,
        describe_endpoint=llm.url,
        describe_timeout_s=2,
    )
    sync.log = lambda level, msg: logs.append((level, msg))
    reports = {r.scene_id: r for r in retag(sync)}
    assert reports[other].status == "tagged" and not fake.scenes[other].details
    assert any(level == "w" and "no description" in msg for level, msg in logs)
    # overwrite, template only
    sync = sync_for(url, store, describe=True, describe_overwrite=True)
    retag(sync)
    assert fake.scenes[mine].details.startswith("Tags: Sunset")
