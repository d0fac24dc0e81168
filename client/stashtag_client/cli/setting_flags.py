"""Setting flags made from the settings declaration, the same in every command.

``@with_settings("connection", "store")`` adds one flag per setting of those groups
(:data:`~stashtag_client.setting_forms.GROUPS`) plus ``--config`` to a command, and calls it with
``settings=`` loaded once: defaults, the config file (``--config`` or ``$STASHTAG_CONFIG``),
``STASHTAG_*`` variables, then the flags given. A flag not given leaves the others to apply.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from stashtag_core.errors import StashtagError

PREFIX = "setting__"  # the generated parameters' names, apart from the command's own


def setting_names(*groups: str) -> tuple[str, ...]:
    """The settings of ``groups`` (group names, or single setting names), in order, once."""
    from stashtag_client.setting_forms import GROUPS

    names: list[str] = []
    for group in groups:
        for name in GROUPS.get(group, (group,)):
            if name not in names:
                names.append(name)
    return tuple(names)


def flag_parameters(names: tuple[str, ...]) -> list[inspect.Parameter]:
    """One keyword parameter per setting, Typer-annotated with its flag and help."""
    from stashtag_client.settings import flag_of, help_of, setting_type

    params = []
    for name in names:
        option = typer.Option(*flag_of(name).split(" "), help=help_of(name), show_default=False)
        params.append(
            inspect.Parameter(
                PREFIX + name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[setting_type(name) | None, option],  # type: ignore[valid-type]
            )
        )
    params.append(
        inspect.Parameter(
            PREFIX + "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                Path | None,
                typer.Option("--config", help="Settings file (YAML; keys are setting names)."),
            ],
        )
    )
    return params


def with_settings(*groups: str, fixed: dict[str, Any] | None = None) -> Callable:
    """Decorate a command taking ``settings``: its setting flags come from the declaration.
    ``fixed`` settings win over every source (e.g. ``interactive`` for a search)."""
    names = setting_names(*groups)

    def wrap(command: Callable) -> Callable:
        hints = typing.get_type_hints(command, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(command).parameters.values()
            if p.name != "settings"
        ]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            from stashtag_client.cli.common import fail
            from stashtag_client.settings import Settings

            config = kwargs.pop(PREFIX + "config", None)
            flags = {n: kwargs.pop(PREFIX + n, None) for n in names}
            try:
                settings = Settings.load(file=config, flags={**flags, **(fixed or {})})
            except (StashtagError, ValueError) as exc:
                fail(exc)
            return command(*args, settings=settings, **kwargs)

        params = own + flag_parameters(names)
        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        del run.__wrapped__  # Typer must read this signature, not the command's
        return run

    return wrap
