"""The ``stashtag-client`` command line: tagging files, Stash, search and learning.

The umbrella ``stashtag`` command (server package) mounts the same commands beside its own.
"""

import sys

from stashtag_client.cli import files, learning, search, stash  # noqa: F401  (they register)
from stashtag_client.cli.apps import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
