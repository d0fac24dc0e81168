"""The plugin's own environment: the client wheels it ships, installed beside it on first run.

Stash runs plugins with whatever Python it has; on Stash's official image that is Alpine's,
externally managed (a plain ``pip install`` is refused) and reset when the container is
recreated. So the plugin installs the stashtag client wheels it carries (``wheels/``) and their
dependencies from the package index — wheels only: there is no compiler — into
``deps/<key>/`` inside the plugin folder, with ``pip --target`` (as CommunityScripts'
PythonDepManager does; ``--target`` is allowed in an externally managed Python). ``<key>`` hashes
the wheels, the Python version and the platform, so upgrading the plugin (new wheels) or Stash's
Python installs afresh, and two plugin processes starting at once cannot half-install: each
installs into its own temporary folder and the first to finish renames it into place.

Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEELS = HERE / "wheels"
DEPS = HERE / "deps"
DONE = ".complete"
PIP_TIMEOUT_S = 1800


class BootstrapError(Exception):
    """The environment could not be made; the message says why and what to do."""


def environment_key(wheels: list[Path]) -> str:
    """Changes when the shipped wheels, the Python version or the platform do."""
    h = hashlib.sha256()
    for w in wheels:
        h.update(w.name.encode() + b"\0" + hashlib.sha256(w.read_bytes()).digest())
    h.update(f"{sys.implementation.cache_tag}|{sysconfig.get_platform()}".encode())
    return h.hexdigest()[:16]


def shipped_wheels() -> list[Path]:
    wheels = sorted(WHEELS.glob("*.whl"))
    if not wheels:
        raise BootstrapError(
            f"no client wheels in {WHEELS}: this plugin folder was not built by "
            "`stashtag plugin build`; install the plugin from its plugin source"
        )
    return wheels


def _pip() -> list[str]:
    """A pip for this Python: its own, or one in a helper venv (ensurepip) when it has none."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    helper = DEPS / ".pip-venv"
    python = helper / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(helper)], capture_output=True, text=True
        )
        if made.returncode != 0:
            raise BootstrapError(
                f"{sys.executable} has no pip and cannot make a venv ({made.stderr.strip()[-300:]}"
                "): install pip for it (Alpine: apk add py3-pip; Debian/Ubuntu: apt install "
                "python3-pip python3-venv) and run the task again"
            )
    return [str(python), "-m", "pip"]


def ensure(log) -> Path:
    """The folder holding the client and its dependencies, installed now if needed."""
    wheels = shipped_wheels()
    target = DEPS / environment_key(wheels)
    if (target / DONE).exists():
        return target
    DEPS.mkdir(parents=True, exist_ok=True)
    log(
        "i",
        f"stashtag: first run of this plugin version with Python {platform.python_version()} "
        f"({sysconfig.get_platform()}): installing the client and its dependencies into "
        f"{target} (wheels from the package index; a minute or two)",
    )
    work = DEPS / f".{target.name}.{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    started = time.monotonic()
    cmd = [
        *_pip(), "install", "--disable-pip-version-check", "--no-input",
        "--no-warn-script-location", "--only-binary=:all:", "--target", str(work),
        *map(str, wheels),
    ]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        shutil.rmtree(work, ignore_errors=True)
        raise BootstrapError(
            f"installing the client took over {PIP_TIMEOUT_S} s; is the package index "
            "reachable from the machine running Stash?"
        ) from None
    if done.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        raise BootstrapError(
            f"installing the stashtag client failed (pip exit {done.returncode}):\n{tail}\n"
            "If the package index is unreachable from Stash's machine, set PIP_INDEX_URL for "
            "Stash (a mirror) or give it network access; if a dependency has no wheel for "
            f"{sysconfig.get_platform()} / Python {platform.python_version()}, report it with "
            "this message. The next run of any task tries again."
        )
    (work / DONE).write_text(
        json.dumps({"python": sys.version, "wheels": [w.name for w in wheels]}, indent=1)
    )
    try:
        work.rename(target)
    except OSError:  # another plugin process finished first: keep its copy
        shutil.rmtree(work, ignore_errors=True)
    log("i", f"stashtag: client installed in {time.monotonic() - started:.0f} s")
    for old in DEPS.iterdir():  # earlier versions' environments (best effort: maybe in use)
        if old.is_dir() and old.name != target.name and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return target


def activate(log) -> None:
    """Make the client importable in this process."""
    sys.path.insert(0, str(ensure(log)))
