"""What every part of stashtag agrees on: model descriptions, presets, protocol constants, errors
and the release's version.

Pure Python with no dependencies, so the light client, the exporters and the server can all
import it without pulling in each other.
"""

__version__ = "0.2.0"  # the one place a release names itself (stashtag/versioning.py)
