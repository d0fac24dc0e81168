"""The ``stashtag`` command line: the client's commands plus repository, serving, bench, demo
and plugin.

One module per command group; each registers its commands on the apps of :mod:`stashtag.cli.apps`
when imported.
"""

import sys

from stashtag.cli import bench, demo, plugin, repo, serve  # noqa: F401  (they register)
from stashtag.cli.apps import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
