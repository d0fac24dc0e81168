"""CPU time and memory of a process and its descendants, from Linux ``/proc``.

A Triton server is many processes (the server and one python-backend stub per model
instance), so its cost is the whole tree's. Elsewhere than Linux these return None.
"""

from __future__ import annotations

import os
from pathlib import Path


def _table() -> dict[int, tuple[int, int, int]] | None:
    """pid → (parent pid, CPU ticks, RSS pages) of every process."""
    out = {}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        out[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21]))
    return out


def tree(pid: int, table: dict) -> set[int]:
    members, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _, _) in table.items():
            if ppid == parent and child not in members:
                members.add(child)
                frontier.append(child)
    return members & set(table)


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by ``pid`` and its descendants."""
    table = _table()
    if not table or pid not in table:
        return None
    ticks = sum(table[p][1] for p in tree(pid, table))
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss_bytes(pid: int) -> int | None:
    """Memory of ``pid`` and its descendants now: the sum of their proportional set sizes
    (shared pages — Triton's shared-memory pool, libraries — split among the processes that
    map them, so they are not counted once per stub), or of their RSS where PSS is unknown."""
    table = _table()
    if not table or pid not in table:
        return None
    page = os.sysconf("SC_PAGE_SIZE")
    return sum(_pss(p) or table[p][2] * page for p in tree(pid, table))


def _pss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakMemory:
    """The largest :func:`tree_rss_bytes` of ``pid``'s tree seen while it runs, sampled every
    ``interval`` seconds by a separate process: reading PSS makes the kernel walk every page
    table of the tree, CPU that must not count as the measuring process's own (``peak`` is
    None where /proc is not there)."""

    def __init__(self, pid: int, interval: float = 5.0) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._peak, self._stop = ctx.Value("q", -1), ctx.Event()
        self._process = ctx.Process(
            target=_sample_peak, args=(pid, interval, self._peak, self._stop), daemon=True
        )
        self.peak: int | None = None

    def start(self) -> PeakMemory:
        self._process.start()
        return self

    def stop(self) -> int | None:
        self._stop.set()
        self._process.join()
        self.peak = self._peak.value if self._peak.value >= 0 else None
        return self.peak

    def __enter__(self) -> PeakMemory:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _sample_peak(pid: int, interval: float, peak, stop) -> None:
    while True:
        now = tree_rss_bytes(pid)
        if now is not None and now > peak.value:
            peak.value = now
        if stop.wait(interval):
            return
