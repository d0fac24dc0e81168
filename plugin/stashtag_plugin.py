"""Stash runs this file (see stashtag.yml); its code lives in stashtag_client.stash.plugin.

A plugin built by ``stashtag plugin build`` carries the client as wheels and installs them into
its own folder on first run (stashtag_bootstrap.py); a plugin folder without wheels (a source
checkout) uses the client installed in the Python Stash runs.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stashtag_bootstrap


def _log(level: str, message: str) -> None:
    for line in str(message).splitlines() or [""]:
        sys.stderr.write(f"\x01{level}\x02{line}\n")
    sys.stderr.flush()


def _fail(message: str) -> None:
    _log("e", message)
    print(json.dumps({"output": None, "error": message}))
    sys.exit(1)


STDIN = sys.stdin.read()
try:
    _args = (json.loads(STDIN or "{}").get("args")) or {}
except ValueError:
    _args = {}
if _args.get("hookContext"):  # Stash waits for hooks: answer without loading the client
    import stashtag_hook

    try:
        _output, _tag_now = stashtag_hook.handle(json.loads(STDIN), _log)
    except (stashtag_hook.HookError, KeyError, TypeError) as exc:
        _fail(f"stashtag hook: {exc}")
    if not _tag_now:
        print(json.dumps({"output": _output, "error": None}))
        sys.exit(0)

_deps = None
if stashtag_bootstrap.WHEELS.is_dir():
    try:
        _deps = stashtag_bootstrap.activate(_log)
    except (stashtag_bootstrap.BootstrapError, OSError) as exc:
        _fail(f"stashtag: {exc}")

try:
    from stashtag_client.stash.plugin import main
except ImportError as exc:
    if _deps is None:  # a checkout whose Python lacks the client
        _fail(
            f"the stashtag client is not installed for {sys.executable}: install the plugin from"
            f" its plugin source (it installs itself), or run `{sys.executable} -m pip install"
            f" ./core ./client` from a stashtag checkout ({exc})"
        )
    try:
        stashtag_bootstrap.reinstall(_log, _deps, exc)
        from stashtag_client.stash.plugin import main
    except (stashtag_bootstrap.BootstrapError, OSError, ImportError) as again:
        _fail(
            f"stashtag: the client installed for {sys.executable} does not import ({again}); "
            f"remove {stashtag_bootstrap.DEPS} and run the task again, and if it fails the same"
            " way report it with this message"
        )


def _check_version() -> None:
    """A source checkout runs whatever client its Python has: say when it is not this one."""
    import re
    from importlib.metadata import PackageNotFoundError, version

    manifest = (Path(__file__).resolve().parent / "stashtag.yml").read_text(encoding="utf-8")
    found = re.search(r"^version:\s*([\w.]+)", manifest, re.M)
    try:
        client = version("stashtag-client")
    except PackageNotFoundError:
        return
    if found and client != found.group(1):
        _log(
            "w",
            f"stashtag: this plugin is version {found.group(1)} but {sys.executable} has client"
            f" {client}; install the matching client (or the plugin from its plugin source)",
        )


if not stashtag_bootstrap.WHEELS.is_dir():
    _check_version()
sys.exit(main(STDIN))
