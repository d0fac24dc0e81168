"""Figures of the reliability runs: with STASHTAG_RELIABILITY_OUT set, each test's figures are
written there as JSON (docs/reliability.md quotes them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_FIGURES: dict[str, dict] = {}


@pytest.fixture()
def figures(request):
    """A dict the test fills with what it measured."""
    entry: dict = {}
    _FIGURES[request.node.name] = entry
    return entry


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("STASHTAG_RELIABILITY_OUT")
    if out and _FIGURES:
        path = Path(out)
        old = json.loads(path.read_text()) if path.is_file() else {}
        path.write_text(json.dumps({**old, **_FIGURES}, indent=2) + "\n")
