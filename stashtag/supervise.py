"""Keep a Triton server up and leave nothing behind: restarts with backoff, stray stubs, and
the python backend's shared-memory regions.

Each python-backend model instance is a stub process with a region in ``/dev/shm`` (tmpfs, so
RAM). A server killed by a signal or the OOM killer leaves both behind: stubs that outlive it
(some ignore SIGTERM) and regions nobody maps any more. A region is stale when no process maps
it and none names it on its command line (a stub is started with its region's name); only
those are removed, so other servers on the machine keep theirs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from stashtag_core.errors import ServeError

SHM_DIR = Path("/dev/shm")
REGION_PREFIX = "triton_python_backend_shm_region_"
STUB_NAME = "triton_python_backend_stub"


def proc_texts() -> list[tuple[int, str, str]]:
    """(pid, command line, memory maps) of every process this user may read."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            maps = (entry / "maps").read_text(errors="replace")
        except OSError:  # gone meanwhile, or not ours
            continue
        out.append((int(entry.name), cmdline, maps))
    return out


def regions() -> set[str]:
    """Names of the python backend's shared-memory regions now in ``/dev/shm``."""
    try:
        return {p.name for p in SHM_DIR.iterdir() if p.name.startswith(REGION_PREFIX)}
    except OSError:
        return set()


def regions_in_use() -> set[str]:
    names = regions()
    used: set[str] = set()
    for _pid, cmdline, maps in proc_texts():
        used |= {n for n in names if n in cmdline or n in maps}
    return used


def remove_stale_regions() -> list[str]:
    """Unlink the regions no process uses; return their names."""
    stale = sorted(regions() - regions_in_use())
    for name in stale:
        with contextlib.suppress(FileNotFoundError):
            (SHM_DIR / name).unlink()
    return stale


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def orphaned_stubs() -> list[int]:
    """Python-backend stubs whose server is gone (adopted by init)."""
    return [
        pid
        for pid, cmdline, _maps in proc_texts()
        if cmdline.split(" ", 1)[0].endswith(STUB_NAME) and _ppid(pid) == 1
    ]


def kill_group(pgid: int) -> None:
    """SIGKILL what is left of a process group (a server's stubs after the server is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def supervise(
    server,
    log: Callable[[str], None],
    stop: threading.Event,
    max_backoff_s: float = 60.0,
    healthy_s: float = 60.0,
) -> int:
    """Wait until ``stop`` is set, restarting ``server`` (a started, ready ``TritonServer``)
    whenever it dies: 1 s, 2 s, 4 s … up to ``max_backoff_s`` between tries, back to 1 s once
    it has stayed up ``healthy_s``. Returns the number of restarts."""
    backoff, restarts = 1.0, 0
    while not stop.is_set():
        up_since = time.monotonic()
        while server.process is not None and server.process.poll() is None:
            if stop.wait(0.5):
                return restarts
        log(
            f"tritonserver died ({describe_exit(server.process.returncode)});"
            f" {server.log_summary(tail=5)}"
        )
        server.cleanup()
        if time.monotonic() - up_since > healthy_s:
            backoff = 1.0
        while not stop.is_set():
            log(f"restarting tritonserver in {backoff:.0f} s")
            if stop.wait(backoff):
                return restarts
            backoff = min(backoff * 2, max_backoff_s)
            try:
                server.start(append_log=True)
                server.wait_ready()
            except ServeError as exc:
                log(f"restart failed: {exc}")
                server.cleanup()
                continue
            restarts += 1
            log(f"tritonserver is back (restart {restarts})")
            break
    return restarts
