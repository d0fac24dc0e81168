"""``plugin build``: the Stash plugin source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stashtag.cli.apps import plugin_app
from stashtag_client.cli.common import console, fail


@plugin_app.command("build")
def plugin_build(
    out: Annotated[Path, typer.Option(help="Folder to serve as a Stash plugin source.")] = Path(
        "dist/plugin"
    ),
) -> None:
    """Build the plugin zip and the index.yml of a Stash plugin source."""
    from stashtag.pluginpkg import build

    try:
        archive, index = build(out)
    except (ValueError, OSError) as exc:
        fail(exc)
    console.print(
        f"wrote {archive} and {index}: serve {out} over HTTP and add "
        f"<url>/index.yml in Stash → Settings → Plugins → Available plugins"
    )
