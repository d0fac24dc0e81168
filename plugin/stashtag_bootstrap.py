"""The plugin's own environment: the client wheels it ships, installed beside it on first run.

Stash runs plugins with whatever Python it has; on Stash's official image that is Alpine's,
externally managed (a plain ``pip install`` is refused) and reset when the container is
recreated. So the plugin installs the stashtag client wheels it carries (``wheels/``) and their
dependencies from the package index — wheels only: there is no compiler — into
``deps/<key>/`` inside the plugin folder, with ``pip --target`` (as CommunityScripts'
PythonDepManager does; ``--target`` is allowed in an externally managed Python). ``<key>`` hashes
the wheels, the Python version, the platform and the C library (glibc or musl, and its version:
``sysconfig.get_platform()`` is ``linux-x86_64`` on both), so upgrading the plugin, Stash's Python
or moving the config folder between a glibc host and the Alpine image installs afresh. Two plugin
processes starting at once cannot half-install: each installs into its own temporary folder and
the first to finish renames it into place. An install counts as complete only once its native
libraries import in a separate process: on musl older than 1.2.4 they crash the interpreter.

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
# The client's dependencies with native code, imported by the probe after installing.
NATIVE = ("numpy", "grpc", "rapidfuzz", "faiss", "yaml", "google.protobuf")
MUSL_LOADERS = "/lib/ld-musl-*.so.1"
MUSL_NEEDED = "musl 1.2.4 (Alpine 3.18 or later; Stash's current image has it)"


class BootstrapError(Exception):
    """The environment could not be made; the message says why and what to do."""


def musl_version() -> str | None:
    """The version of the musl libc this Python runs on, None on any other libc."""
    if "musl" not in (sysconfig.get_config_var("EXT_SUFFIX") or ""):
        return None
    folder, pattern = os.path.split(MUSL_LOADERS)
    for loader in sorted(Path(folder).glob(pattern)):
        try:  # musl's loader run bare prints "musl libc (x86_64)\nVersion 1.2.4" and exits 1
            said = subprocess.run([str(loader)], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        for line in said.stderr.splitlines():
            if line.startswith("Version "):
                return line.split()[1]
    return "unknown"


def libc() -> str:
    """The C library native wheels were chosen for: ``glibc-2.36``, ``musl-1.2.5``, …"""
    musl = musl_version()
    if musl:
        return f"musl-{musl}"
    name, version = platform.libc_ver()
    return f"{name}-{version}" if name else "unknown"


def runtime() -> str:
    """What the native wheels depend on: interpreter, platform, extension ABI and libc."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ""
    return f"{sys.implementation.cache_tag}|{sysconfig.get_platform()}|{suffix}|{libc()}"


def environment_key(wheels: list[Path]) -> str:
    """Changes when the shipped wheels, the Python, the platform or the C library do."""
    h = hashlib.sha256()
    for w in wheels:
        h.update(w.name.encode() + b"\0" + hashlib.sha256(w.read_bytes()).digest())
    h.update(runtime().encode())
    return h.hexdigest()[:16]


def shipped_wheels() -> list[Path]:
    wheels = sorted(WHEELS.glob("*.whl"))
    if not wheels:
        raise BootstrapError(
            f"no client wheels in {WHEELS}: this plugin folder was not built by "
            "`stashtag plugin build`; install the plugin from its plugin source"
        )
    return wheels


def _has_pip(python: str | Path) -> bool:
    try:
        probe = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True)
    except OSError:
        return False
    return probe.returncode == 0


def _pip() -> list[str]:
    """A pip for this Python: its own, or one in a helper venv (ensurepip) when it has none.
    A helper venv that does not run pip (half made, or its Python gone) is made again."""
    if _has_pip(sys.executable):
        return [sys.executable, "-m", "pip"]
    helper = DEPS / ".pip-venv"
    python = helper / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if _has_pip(python):
        return [str(python), "-m", "pip"]
    shutil.rmtree(helper, ignore_errors=True)
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(helper)], capture_output=True, text=True
    )
    if made.returncode != 0 or not _has_pip(python):
        shutil.rmtree(helper, ignore_errors=True)
        why = (made.stderr or made.stdout).strip()[-300:] or "its pip does not run"
        raise BootstrapError(
            f"{sys.executable} has no pip and cannot make a venv with one ({why}): install pip "
            "for it (Alpine: apk add py3-pip; Debian/Ubuntu: apt install python3-pip "
            "python3-venv) and run the task again"
        )
    return [str(python), "-m", "pip"]


def probe_imports(folder: Path, modules: tuple[str, ...] | None = None) -> None:
    """Import the native dependencies installed in ``folder`` in a child Python; raise with
    what to do when they fail or crash it (a crash here would otherwise kill every task)."""
    code = "import sys\nfor m in sys.argv[1:]:\n    print(m, flush=True)\n    __import__(m)\n"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *(modules or NATIVE)],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BootstrapError(f"importing the client's libraries from {folder} hung") from None
    if done.returncode == 0:
        return
    tried = done.stdout.split()
    module = tried[-1] if tried else "python"
    if done.returncode < 0:  # killed by a signal: a native library crashed the interpreter
        musl = musl_version()
        need = (
            f"this Python runs on musl {musl}; the client's musllinux wheels need {MUSL_NEEDED}: "
            "upgrade Stash's image or base system"
            if musl
            else "report it with this message"
        )
        raise BootstrapError(
            f"importing {module} from the freshly installed client crashed Python (signal "
            f"{-done.returncode}); {need}. Nothing was kept: the next run tries again."
        )
    last = (done.stderr.strip().splitlines() or ["no message"])[-1]
    raise BootstrapError(
        f"the installed client's {module} does not import on this Python ({libc()}): {last}. "
        "Nothing was kept: the next run tries again; report it with this message if it repeats."
    )


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
        said = (done.stderr or done.stdout).strip()
        tail = "\n".join(said.splitlines()[-12:])
        proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
        if proxy and "ProxyError" in said:  # Stash exports its proxy setting to plugins
            tail += (
                f"\npip went through the proxy {proxy}: Stash passes its own proxy setting "
                "(Settings → System → Proxy) to plugins as HTTPS_PROXY. Make that proxy reach "
                "the package index, or add the index's hosts (pypi.org, files.pythonhosted.org) "
                "to Stash's no-proxy setting."
            )
        raise BootstrapError(
            f"installing the stashtag client failed (pip exit {done.returncode}):\n{tail}\n"
            "If the package index is unreachable from Stash's machine, set PIP_INDEX_URL for "
            "Stash (a mirror) or give it network access; if a dependency has no wheel for "
            f"{sysconfig.get_platform()} / Python {platform.python_version()}, report it with "
            "this message. The next run of any task tries again."
        )
    try:
        probe_imports(work)
    except BootstrapError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    (work / DONE).write_text(
        json.dumps(
            {"python": sys.version, "runtime": runtime(), "wheels": [w.name for w in wheels]},
            indent=1,
        )
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


def activate(log) -> Path:
    """Make the client importable in this process; the folder it is imported from."""
    target = ensure(log)
    sys.path.insert(0, str(target))
    return target


def reinstall(log, target: Path, error: Exception) -> None:
    """A complete-looking install did not import (files damaged, or copied from another
    machine): remove it, forget what this process imported from it and install once more."""
    log("w", f"stashtag: the client in {target} does not import ({error}); reinstalling it")
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(target)):
            del sys.modules[name]
    if str(target) in sys.path:
        sys.path.remove(str(target))
    shutil.rmtree(target, ignore_errors=True)
    activate(log)
