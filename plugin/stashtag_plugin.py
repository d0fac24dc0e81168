"""Stash runs this file (see stashtag.yml); the plugin's code lives in stashtag.client.plugin."""

import json
import sys

try:
    from stashtag.client.plugin import main
except ImportError as exc:  # stashtag is not installed in the Python that Stash runs
    print(
        json.dumps(
            {
                "output": None,
                "error": f"stashtag is not installed for {sys.executable}: "
                f"run `{sys.executable} -m pip install stashtag` ({exc})",
            }
        )
    )
    sys.exit(1)

sys.exit(main(sys.stdin.read()))
