"""The client's Typer apps; the command modules register on them when imported."""

import os

import typer

from stashtag_core.errors import DEBUG_ENV

app = typer.Typer(
    help="Tag Stash video libraries through a stashtag Triton server (the light client).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        shown = []
        for dist in ("stashtag", "stashtag-client", "stashtag-core"):
            try:
                shown.append(f"{dist} {version(dist)}")
            except PackageNotFoundError:
                continue
        typer.echo(", ".join(shown))
        raise typer.Exit()


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="Errors carry their Python traceback (for bug reports)."
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Show the installed versions and exit.",
    ),
) -> None:
    if debug:
        os.environ[DEBUG_ENV] = "1"  # the environment: worker threads and plugins see it too


learned_app = typer.Typer(help="List or delete learned tags.", no_args_is_help=True)
app.add_typer(learned_app, name="learned")
