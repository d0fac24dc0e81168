"""The client's Typer apps; the command modules register on them when imported."""

import typer

app = typer.Typer(
    help="Tag Stash video libraries through a stashtag Triton server (the light client).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
learned_app = typer.Typer(help="List or delete learned tags.", no_args_is_help=True)
app.add_typer(learned_app, name="learned")
