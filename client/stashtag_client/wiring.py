"""Settings → the objects they configure, for every command and the plugin.

:mod:`stashtag_client.settings` only declares and parses; this is the one place its values
become server access, the endpoint pool (retries and timeouts included), a tagging session,
the vocabulary and the description settings.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from pathlib import Path

from stashtag_client.settings import Settings, names_list
from stashtag_core.protocol import PRIORITY_BULK, PRIORITY_INTERACTIVE

# The objects are imported where built: the web UI's operations start a process per call and
# read settings without needing grpc, requests or the tagging modules (0.3 s of imports).
if typing.TYPE_CHECKING:
    from stashtag_client.inference.transport import EndpointPool, ServerAccess
    from stashtag_client.session import TaggingSession
    from stashtag_client.store import Store
    from stashtag_client.tagging.descriptions import DescribeSettings
    from stashtag_client.tagging.vocabulary import Vocabulary


def server_access(settings: Settings, interactive: bool | None = None) -> ServerAccess:
    """Key, TLS CA and request priority (``interactive`` overrides the setting)."""
    from stashtag_client.inference.transport import ServerAccess

    urgent = settings.interactive if interactive is None else interactive
    return ServerAccess(
        key=settings.server_key or None,
        ca_file=Path(settings.tls_ca) if settings.tls_ca else None,
        priority=PRIORITY_INTERACTIVE if urgent else PRIORITY_BULK,
    )


def endpoint_pool(
    settings: Settings,
    max_in_flight: int | None = None,
    interactive: bool | None = None,
    on_event: Callable[[str], None] | None = None,
) -> EndpointPool:
    """The pool over the settings' endpoints, with their timeout and attempts (not open yet)."""
    from stashtag_client.inference.transport import EndpointPool, RetryPolicy, parse_endpoints

    return EndpointPool(
        parse_endpoints(settings.endpoints),
        max_in_flight or settings.max_in_flight,
        RetryPolicy(attempts=settings.attempts, timeout_s=settings.timeout_s),
        server_access(settings, interactive),
        on_event,
    )


def tagging_session(
    settings: Settings,
    store: Store,
    vocab: Vocabulary,
    on_event: Callable[[str], None] | None = None,
) -> TaggingSession:
    from stashtag_client.session import TaggingSession

    return TaggingSession(
        store, vocab, endpoint_pool(settings, on_event=on_event), settings.frame_budget, on_event
    )


def vocabulary(settings: Settings) -> Vocabulary:
    """The vocabulary file (or the shipped one) with the allow/deny lists and review level."""
    from stashtag_client.tagging.rules import with_overrides
    from stashtag_client.tagging.vocabulary import load_vocabulary

    vocab = load_vocabulary(settings.vocabulary or None)
    policy = with_overrides(
        vocab.policy,
        names_list(settings.allow_tags),
        names_list(settings.deny_tags),
        settings.review_below or None,
    )
    return dataclasses.replace(vocab, policy=policy)


def describe_settings(settings: Settings) -> DescribeSettings:
    from stashtag_client.tagging.descriptions import DescribeSettings

    return DescribeSettings(
        template=settings.describe_template,
        endpoint=settings.describe_endpoint,
        model=settings.describe_model,
        api_key=settings.describe_api_key,
        timeout_s=settings.describe_timeout_s,
    )
