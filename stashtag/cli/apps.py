"""The ``stashtag`` Typer apps: the client's commands plus the server's own groups."""

import typer

from stashtag_client.cli import app as client_app

app = typer.Typer(
    help="Tag Stash video libraries with CLIP, YOLOv8, PP-OCR and DINOv2 served by Triton.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.callback()(client_app.registered_callback.callback)
# One command line: the client's commands (tag, stash, search, learn, …) as they are.
app.registered_commands.extend(client_app.registered_commands)
app.registered_groups.extend(client_app.registered_groups)
repo_app = typer.Typer(help="Build and check Triton model repositories.", no_args_is_help=True)
app.add_typer(repo_app, name="repo")
plugin_app = typer.Typer(help="The Stash plugin.", no_args_is_help=True)
app.add_typer(plugin_app, name="plugin")
