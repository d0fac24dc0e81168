"""``plugin build`` and ``plugin manifest``: the Stash plugin source and its generated files."""

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
        typer.Option(help="Only say whether the generated files are up to date (exit 1 if not)."),
    ] = False,
) -> None:
    """Regenerate what the plugin derives from the Python declarations: plugin/stashtag.yml's
    version and settings, and the web UI's types of the operations' answers."""
    from stashtag.pluginpkg import generated_files

    stale = [
        path for path, text in generated_files().items() if path.read_text(encoding="utf-8") != text
    ]
    if not stale:
        console.print("the plugin's generated files are up to date")
        return
    if check:
        fail(ValueError(f"stale: {', '.join(map(str, stale))}: run `stashtag plugin manifest`"))
    for path, text in generated_files().items():
        if path in stale:
            path.write_text(text, encoding="utf-8")
            console.print(f"wrote {path}")
