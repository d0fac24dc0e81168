"""Short scene descriptions from what stashtag found (optional, off by default).

A template fills in the top tags, objects, studio and on-screen text; optionally a
user-configured OpenAI-compatible endpoint (a local LM Studio, Ollama or llama.cpp server —
never a cloud service by default) turns the same facts into a sentence or two. Written to a
scene's ``details`` only where it is empty, unless the user says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from stashtag_client.setting_values import DEFAULT_TEMPLATE
from stashtag_client.tagging.mapping import SceneResult
from stashtag_core.errors import StashtagError

SYSTEM_PROMPT = (
    "You write one or two plain sentences describing a video scene for a media library, "
    "using only the facts given. No speculation, no lists, no quotes."
)


@dataclass(frozen=True)
class DescribeSettings:
    template: str = DEFAULT_TEMPLATE
    endpoint: str = ""  # OpenAI-compatible base URL, e.g. http://localhost:1234/v1 (empty: off)
    model: str = "local-model"
    api_key: str = ""
    timeout_s: float = 60.0
    max_tags: int = 8


def facts(result: SceneResult, max_tags: int = 8) -> dict[str, str]:
    """The template's fields, each a short sentence or empty."""
    tags = [t.name for t in sorted(result.tags, key=lambda t: -t.score)[:max_tags]]
    text = [t for t in result.text if len(t) > 2][:3]
    return {
        "tags": f"Tags: {', '.join(tags)}. " if tags else "",
        "objects": f"Objects: {', '.join(result.objects)}. " if result.objects else "",
        "studio": f"Studio: {result.studio.studio}. " if result.studio else "",
        "text": f"On-screen text: {'; '.join(text)}. " if text else "",
    }


def template_description(result: SceneResult, settings: DescribeSettings) -> str:
    try:
        return settings.template.format(**facts(result, settings.max_tags)).strip()
    except (KeyError, IndexError, ValueError) as exc:
        raise StashtagError(
            f"description template {settings.template!r}: {exc!r}; fields are "
            "{tags} {objects} {studio} {text}"
        ) from None


def describe(result: SceneResult, settings: DescribeSettings) -> str:
    """A description of ``result``: the template's, or the endpoint's from the same facts."""
    base = template_description(result, settings)
    if not settings.endpoint or not base:
        return base
    url = settings.endpoint.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": base},
        ],
        "temperature": 0.2,
        "max_tokens": 120,
    }
    try:
        response = requests.post(url, json=body, headers=headers, timeout=settings.timeout_s)
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"].strip()
    except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as exc:
        raise StashtagError(f"description endpoint {url}: {exc}") from None
    if not text:
        raise StashtagError(f"description endpoint {url}: empty answer")
    return text
