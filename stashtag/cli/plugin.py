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


@plugin_app.command("manifest")
def plugin_manifest(
    check: Annotated[
        bool,
        typer.Option(help="Only say whether plugin/stashtag.yml is up to date (exit 1 if not)."),
    ] = False,
) -> None:
    """Regenerate the settings of plugin/stashtag.yml from the client's settings declaration."""
    from stashtag.pluginpkg import MANIFEST, generated_manifest

    text = generated_manifest()
    if MANIFEST.read_text(encoding="utf-8") == text:
        console.print(f"{MANIFEST} is up to date")
        return
    if check:
        fail(ValueError(f"{MANIFEST} is stale: run `stashtag plugin manifest`"))
    MANIFEST.write_text(text, encoding="utf-8")
    console.print(f"wrote {MANIFEST}")
