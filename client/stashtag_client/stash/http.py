"""Stash's HTTP endpoint: authentication, timeouts and retries for GraphQL and file GETs."""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from stashtag_core.errors import StashtagError

RETRY_STATUS = {500, 502, 503, 504}
# A file that receives every GraphQL exchange with Stash as JSON lines (query, variables, HTTP
# status, answer): what a bug report or the fake Stash's contract test needs. Off when unset.
TRANSCRIPT_ENV = "STASHTAG_STASH_TRANSCRIPT"
_transcript_lock = threading.Lock()


def _record(query: str, variables: dict | None, status: int, body) -> None:
    path = os.environ.get(TRANSCRIPT_ENV)
    if not path:
        return
    line = json.dumps(
        {"query": query, "variables": variables or {}, "status": status, "response": body}
    )
    with _transcript_lock, open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")


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


class StashHttp:
    """GraphQL calls with a timeout and retries on 5xx, timeouts and dropped connections."""

    def __init__(self, conn: StashConnection) -> None:
        from stashapi.classes import GQLWrapper

        wrapper = GQLWrapper()  # stashapi's configured requests session (JSON headers)
        self.session: requests.Session = wrapper.s
        self.conn = conn
        # also given with every request: a session's verify=False loses to REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE in the environment (seen with an https Stash that set them)
        self.session.verify = conn.verify_tls
        if not conn.verify_tls:  # chosen by the user: once is enough to have been told
            import warnings

            warnings.filterwarnings("ignore", message="Unverified HTTPS request")
        self.graphql_url = conn.url.rstrip("/") + "/graphql"
        if conn.api_key:
            self.session.headers["ApiKey"] = conn.api_key
        if conn.session_cookie:
            self.session.cookies.set("session", conn.session_cookie)

    def _credentials_hint(self) -> str:
        if self.conn.api_key or self.conn.session_cookie:
            return "Stash refused the credentials (check the API key, Settings → Security)"
        return (
            "this Stash has a password: give stashtag its API key (Stash → Settings → Security "
            "→ API key; --stash-api-key or STASHTAG_STASH_API_KEY)"
        )

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
                    raise StashError(f"{what}: 401 unauthorised: {self._credentials_hint()}")
                if response.status_code not in RETRY_STATUS:
                    return response
                last = f"HTTP {response.status_code}"
            time.sleep(random.uniform(0, min(8.0, 0.25 * 2**attempt)))
        raise StashError(f"{what}: Stash did not answer after {self.conn.attempts} tries ({last})")

    def gql(self, query: str, variables: dict | None = None, idempotent: bool = True) -> dict:
        """Run one GraphQL operation; errors in the answer raise :class:`StashError`.

        A non-idempotent mutation (a create) is not re-sent once it may have reached Stash:
        :class:`StashUncertain` tells the caller to look before trying again."""
        field = re.search(r"\{\s*(\w+)", query)  # what is asked (findScenes), not "query C"
        name = field.group(1) if field else "query"
        response = self._post(
            lambda: self.session.post(
                self.graphql_url,
                json={"query": query, "variables": variables or {}},
                timeout=self.conn.timeout_s,
                verify=self.conn.verify_tls,
            ),
            f"Stash {name}",
            idempotent,
        )
        try:
            body = response.json()
        except ValueError:
            _record(query, variables, response.status_code, response.text[:2000])
            raise StashError(f"Stash {name}: HTTP {response.status_code}, not JSON") from None
        _record(query, variables, response.status_code, body)
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
            lambda: self.session.get(url, timeout=self.conn.timeout_s, verify=self.conn.verify_tls),
            f"GET {url}",
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
