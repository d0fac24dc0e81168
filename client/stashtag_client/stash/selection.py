"""A ``find*`` query's rows streamed a page at a time, in id order (keyset paging)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


class Selection:
    """The items a ``find*`` query matches, fetched a page at a time while iterated.

    ``len()`` is Stash's count when the selection was made (a progress bar's total); memory
    holds one page, whatever the library's size. Iterating again asks Stash again."""

    def __init__(
        self,
        page: Callable[[int | None], tuple[int, list[dict]]],
        per_page: int,
        wrap: Callable[[dict], Any],
    ) -> None:
        self._page, self._per_page, self._wrap = page, per_page, wrap
        self.total, self._first = page(None)

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator:
        rows, self._first = self._first if self._first is not None else self._page(None)[1], None
        while rows:
            yield from (self._wrap(r) for r in rows)
            if len(rows) < self._per_page:
                return
            rows = self._page(int(rows[-1]["id"]))[1]


def keyset_selection(
    gql: Callable[[str, dict], dict],
    query: str,
    field_name: str,
    filter_var: str,
    criteria: dict,
    per_page: int,
    wrap: Callable[[dict], Any],
) -> Selection:
    """Every row of a ``find*`` query in id order, a page at a time (never ``per_page: -1``).

    Each page asks for ids above the last one seen (``id`` GREATER_THAN) instead of page
    numbers: a run that writes back while it reads (a queue tag removed) shrinks the result
    set, and page numbers would then skip rows."""

    def page(after: int | None) -> tuple[int, list[dict]]:
        crit = dict(criteria)
        if after is not None:
            crit["id"] = {"value": after, "modifier": "GREATER_THAN"}
        f = {"page": 1, "per_page": per_page, "sort": "id", "direction": "ASC"}
        data = gql(query, {filter_var: crit, "f": f})[field_name]
        return data["count"], data[next(k for k in data if k != "count")]

    return Selection(page, per_page, wrap)
