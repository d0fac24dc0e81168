"""Exceptions with messages meant for users."""


class StashtagError(Exception):
    """Base class of every error stashtag reports to a user."""


class InputError(StashtagError, ValueError):
    """An image, rectangle list or prompt that cannot be processed (names what is wrong)."""


class ExportError(StashtagError):
    """A model could not be exported or failed its parity check."""


class ServeError(StashtagError):
    """Triton could not be started or did not become ready."""


DEBUG_ENV = "STASHTAG_DEBUG"  # "1": errors carry their traceback (``--debug`` sets it)


def describe(exc: BaseException) -> str:
    """One exception as a user reads it: the message of our own errors, ``Type: message`` of
    any other; with the traceback appended when ``STASHTAG_DEBUG=1``."""
    import os

    text = str(exc) if isinstance(exc, StashtagError) else f"{type(exc).__name__}: {exc}"
    if os.environ.get(DEBUG_ENV) == "1":
        import traceback

        text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
    return text
