"""Async gRPC transport: weighted endpoints, health checks, bounded in-flight, retries.

Every request goes through :meth:`EndpointPool.infer`. At most ``max_in_flight`` requests are
outstanding (backpressure for the producer); each has a timeout; an endpoint that fails with a
transport error is taken out and probed again after a cool-down while its work moves to the
others; with no endpoint left the call waits and retries with exponential backoff and jitter.
Errors the server reports about a request itself (bad image, bad rectangles) are not retried.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stashtag_client.inference.grpc_client import ServerError

if TYPE_CHECKING:
    from stashtag_client.inference.grpc_client import AsyncTriton
from stashtag_core.errors import StashtagError
from stashtag_core.protocol import GRPC_KEY_HEADER, KEY_ENV, KEY_HEADER, TLS_CA_ENV

# gRPC codes that say "this endpoint, now" rather than "this request".
RETRYABLE = {
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "ABORTED",
    "UNKNOWN",
    "CANCELLED",
}


class RequestError(StashtagError):
    """The server refused this request (its message names why); retrying would not help."""


class TransportError(StashtagError):
    """No endpoint could serve the request within the retry budget."""


class AccessError(StashtagError):
    """The server refused us: missing or wrong key, or a TLS mismatch; retrying would not help."""


@dataclass(frozen=True)
class ServerAccess:
    """How to reach a guarded server: its key (a header), TLS, and this client's priority."""

    key: str | None = None
    tls: bool = False
    ca_file: Path | None = None  # PEM roots to trust, for self-signed servers
    priority: int = 0  # 0: the server's default (bulk)

    @property
    def headers(self) -> dict[str, str]:
        """gRPC metadata carrying the key."""
        return {GRPC_KEY_HEADER: self.key} if self.key else {}

    def channel(self, url: str) -> tuple[str, Any]:
        """The address without a ``grpc(s)://`` prefix and its TLS credentials (None: plain)."""
        from stashtag_client.inference.grpc_client import credentials

        tls = self.tls or self.ca_file is not None or url.startswith("grpcs://")
        address = url.removeprefix("grpcs://").removeprefix("grpc://")
        try:
            return address, credentials(tls, self.ca_file)
        except FileNotFoundError:
            raise AccessError(f"TLS CA file {self.ca_file} does not exist") from None
        except OSError as exc:
            raise AccessError(f"TLS CA file {self.ca_file} cannot be read: {exc}") from None

    def connect(self, url: str):
        """An :class:`~stashtag_client.inference.grpc_client.AsyncTriton` for ``url``."""
        from stashtag_client.inference.grpc_client import AsyncTriton

        return AsyncTriton(*self.channel(url), headers=self.headers)


def access_problem(message: str) -> str | None:
    """Why a server error is about access rather than the endpoint's health, if it is."""
    low = message.lower()
    if "restricted" in low or KEY_HEADER in low:
        return f"the server wants a valid key in the {KEY_HEADER!r} header ({KEY_ENV}): {message}"
    if "ssl" in low or "handshake" in low or "certificate" in low:
        return f"TLS failed (grpcs:// endpoint and {TLS_CA_ENV} must match the server): {message}"
    return None


@dataclass
class Endpoint:
    """One Triton server. ``weight`` sets its share of the traffic."""

    url: str
    weight: float = 1.0
    healthy: bool = True
    in_flight: int = 0
    failures: int = 0
    retry_at: float = 0.0
    served: int = 0
    last_error: str = ""
    down_since: float | None = None  # monotonic time it was taken out
    client: AsyncTriton | None = field(default=None, repr=False)

    def load(self) -> float:
        return (self.in_flight + 1) / self.weight


def parse_endpoints(spec: str | list[str]) -> list[Endpoint]:
    """``"host:port[=weight],host:port[=weight]"`` (or a list of those) → endpoints."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    endpoints = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        url, _, weight = item.partition("=")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"endpoint {item!r}: weight {weight!r} is not a number") from None
        if w <= 0:
            raise ValueError(f"endpoint {item!r}: weight must be > 0")
        endpoints.append(Endpoint(url.strip(), w))
    if not endpoints:
        raise ValueError("no Triton endpoint given")
    return endpoints


@dataclass
class RetryPolicy:
    attempts: int = 6  # tries per request, across endpoints
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    cooldown_s: float = 5.0  # a failed endpoint is probed again after this
    # per request; a request that times out on a server that still answers is busy, not
    # down: it is retried with twice the time (up to 8×), the endpoint stays in use
    timeout_s: float = 600.0
    # While no endpoint is healthy (a server restarting), wait this long before giving up;
    # waiting spends no attempts, so a bulk job rides out a restart.
    max_outage_s: float = 300.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


class EndpointPool:
    """Send inference requests to the least-loaded healthy endpoint (weighted)."""

    def __init__(
        self,
        endpoints: list[Endpoint],
        max_in_flight: int = 16,
        policy: RetryPolicy | None = None,
        access: ServerAccess | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.endpoints = endpoints
        # an endpoint taken out or back: the run's output says so (an outage is never silent)
        self.on_event = on_event or (lambda _message: None)
        self.policy = policy or RetryPolicy()
        self.access = access or ServerAccess()
        self.headers = self.access.headers
        self._slots = asyncio.Semaphore(max_in_flight)
        self.max_in_flight = max_in_flight
        self.busy_timeouts = 0  # requests that timed out on a server that was still ready

    async def __aenter__(self) -> EndpointPool:
        for ep in self.endpoints:
            ep.client = self.access.connect(ep.url)
        await asyncio.gather(*(self._probe(ep) for ep in self.endpoints))
        if not any(ep.healthy for ep in self.endpoints):
            # Down at the start is a setup problem, reported now; an outage mid-run is waited out.
            await self.__aexit__()
            refused = [ep.last_error for ep in self.endpoints if access_problem(ep.last_error)]
            if refused:
                raise AccessError(access_problem(refused[0]))
            raise TransportError(
                "no Triton server reachable: "
                + "; ".join(f"{ep.url}: {ep.last_error or 'not ready'}" for ep in self.endpoints)
            )
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.gather(*(ep.client.close() for ep in self.endpoints if ep.client))

    async def _ready(self, ep: Endpoint) -> bool:
        try:
            return await ep.client.ready(timeout_s=5)
        except (TimeoutError, ServerError, OSError) as exc:
            ep.last_error = str(exc)
            return False

    async def _probe(self, ep: Endpoint) -> bool:
        ok = await self._ready(ep)
        self._mark(ep, ok)
        return ok

    def _mark(self, ep: Endpoint, ok: bool) -> None:
        was, ep.healthy = ep.healthy, ok
        if ok:
            ep.failures = 0
            if not was and ep.down_since is not None:
                self.on_event(f"{ep.url} is back after {time.monotonic() - ep.down_since:.0f} s")
            ep.down_since = None
            return
        ep.failures += 1
        ep.retry_at = time.monotonic() + self.policy.cooldown_s
        if was:
            ep.down_since = time.monotonic()
            then = (
                "its work moves to the other endpoints"
                if any(e.healthy for e in self.endpoints)
                else f"waiting up to {self.policy.max_outage_s:.0f} s for a server to come back"
            )
            self.on_event(f"{ep.url} is down ({ep.last_error or 'not ready'}); {then}")

    async def _pick(self) -> Endpoint | None:
        now = time.monotonic()
        for ep in self.endpoints:  # endpoints whose cool-down has passed get probed again
            if not ep.healthy and now >= ep.retry_at:
                await self._probe(ep)
        healthy = [ep for ep in self.endpoints if ep.healthy]
        return min(healthy, key=Endpoint.load) if healthy else None

    async def parameters(self, model: str) -> dict[str, dict[str, str]]:
        """``model``'s configuration parameters as each healthy endpoint serves them."""
        found = {}
        for ep in self.endpoints:
            if not ep.healthy:
                continue
            try:
                found[ep.url] = await ep.client.parameters(model)
            except ServerError as exc:
                problem = access_problem(exc.message)
                if problem:
                    raise AccessError(f"{ep.url}: {problem}") from None
                raise TransportError(
                    f"{ep.url}: cannot read {model}'s configuration: {exc}"
                ) from None
        if not found:
            raise TransportError(
                "no healthy Triton endpoint: "
                + ", ".join(f"{e.url} ({e.last_error or 'not ready'})" for e in self.endpoints)
            )
        return found

    def status(self) -> list[dict]:
        return [
            {"url": e.url, "weight": e.weight, "healthy": e.healthy, "served": e.served}
            for e in self.endpoints
        ]

    async def infer(
        self, model: str, inputs: dict[str, np.ndarray], outputs: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """One inference with backpressure, failover and retries."""

        async with self._slots:
            last = "no endpoint was healthy"
            attempt, outage_since, timeout = 0, None, self.policy.timeout_s
            while attempt < self.policy.attempts:
                ep = await self._pick()
                if ep is None:
                    outage_since = outage_since or time.monotonic()
                    if time.monotonic() - outage_since > self.policy.max_outage_s:
                        last = f"no endpoint healthy for {self.policy.max_outage_s:.0f} s ({last})"
                        break
                    await asyncio.sleep(min(self.policy.cooldown_s, 1.0) * random.uniform(0.5, 1))
                    continue
                outage_since = None
                attempt += 1
                ep.in_flight += 1
                try:
                    result = await ep.client.infer(
                        model, inputs, outputs, timeout_s=timeout, priority=self.access.priority
                    )
                except ServerError as exc:
                    code = exc.code
                    problem = access_problem(exc.message)
                    if problem:
                        raise AccessError(f"{ep.url}: {problem}") from None
                    if code not in RETRYABLE:
                        raise RequestError(exc.message or str(exc)) from None
                    last = f"{ep.url}: {code} {exc.message}"
                    ep.last_error = f"{code} {exc.message}"
                    if code == "DEADLINE_EXCEEDED" and await self._ready(ep):
                        # overloaded, not dead: marking it down and re-sending at once would
                        # pile more work on a server still computing the abandoned request
                        self.busy_timeouts += 1
                        timeout = min(timeout * 2, self.policy.timeout_s * 8)
                    else:
                        self._mark(ep, False)
                    await asyncio.sleep(self.policy.delay(attempt))
                    continue
                finally:
                    ep.in_flight -= 1
                ep.served += 1
                return result
            raise TransportError(f"{model}: gave up after {attempt} attempt(s); last error: {last}")
