"""Stash runs this file (see stashtag.yml); its code lives in stashtag_client.stash.plugin."""

import json
import sys

try:
    from stashtag_client.stash.plugin import main
except ImportError as exc:  # the client is not installed in the Python that Stash runs
    print(
        json.dumps(
            {
                "output": None,
                "error": f"the stashtag client is not installed for {sys.executable}: run"
                f" `{sys.executable} -m pip install ./core ./client` from a stashtag checkout"
                f" ({exc})",
            }
        )
    )
    sys.exit(1)

sys.exit(main(sys.stdin.read()))
