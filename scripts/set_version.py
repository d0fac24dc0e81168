"""Give the release a new version: ``python scripts/set_version.py 0.3.0``.

Writes it where packaging needs it spelled out (stashtag/versioning.py lists the places) and
regenerates the plugin manifest, whose version follows ``stashtag_core.__version__``.
"""

from __future__ import annotations

import importlib
import sys

import stashtag_core
from stashtag import pluginpkg
from stashtag.versioning import set_version


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    changed = set_version(argv[0])
    importlib.reload(stashtag_core)  # the manifest takes the version just written
    pluginpkg.MANIFEST.write_text(pluginpkg.generated_manifest(), encoding="utf-8")
    print("\n".join([*changed, str(pluginpkg.MANIFEST.relative_to(pluginpkg.ROOT))]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
