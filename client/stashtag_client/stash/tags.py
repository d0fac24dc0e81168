"""Stash tags by name, and creates that happen exactly once even when an answer is lost."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from stashtag_client.stash.client import StashClient, ascii_fold
from stashtag_client.stash.http import StashError, StashUncertain

T = TypeVar("T")
DESCRIPTION = "Created by stashtag"


class TagRegistry:
    """Tag ids by name: looked up exactly (name, else alias), created once, cached."""

    def __init__(self, client: StashClient, dry_run: bool) -> None:
        self.client, self.dry_run = client, dry_run
        self.cache: dict[str, str] = {}

    def get(self, name: str, parent: str | None = None, create: bool = True) -> str | None:
        key = ascii_fold(name)
        if key in self.cache:
            return self.cache[key]
        tag = self.client.find_tag(name)
        if tag is None and create:
            if self.dry_run:
                return f"dry-run:{name}"
            parent_id = self.get(parent) if parent else None
            try:
                tag = create_once(
                    lambda: self.client.create_tag(name, parent_id, DESCRIPTION),
                    lambda: self.client.find_tag(name),
                    self.client.conn.timeout_s,
                )
            except StashError as exc:
                refused = "already exists" in str(exc) or "used as alias" in str(exc)
                # created meanwhile (another run, another Stash client): use that one
                tag = self.client.find_tag(name) if refused else None
                if tag is None and refused:
                    raise StashError(self._blocked(name, exc)) from None
                if tag is None:
                    raise
        if tag is None:
            return None
        self.cache[key] = tag["id"]
        return tag["id"]

    def _blocked(self, name: str, exc: StashError) -> str:
        """Why Stash refused to create ``name`` though no tag has exactly that name."""
        similar = [t["name"] for t in self.client.tags_like(name)] + [
            f"{t['name']} (alias {a})"
            for t in self.client.tags_like(name, "aliases")
            for a in t.get("aliases", [])
        ]
        return (
            f"{exc}: Stash refuses to create tag {name!r} because it compares tag names with "
            "SQL LIKE, where '_' and '%' match any character"
            + (f", and {', '.join(sorted(set(similar)))} matches it" if similar else "")
            + f". Rename that tag (or give it the alias {name!r} if it is the same tag) and "
            "run again"
        )


def create_once(
    create: Callable[[], T], find: Callable[[], T | None], settle_s: float = 0.0, tries: int = 3
) -> T:
    """Create something exactly once even when Stash's answer to the create is lost: wait
    ``settle_s`` (a slow create may still land), then look for it before sending it again."""
    for _ in range(tries):
        try:
            return create()
        except StashUncertain as exc:
            last = exc
            time.sleep(settle_s)
            found = find()
            if found is not None:
                return found
    raise StashError(f"{last} (still missing after {tries} tries)")
