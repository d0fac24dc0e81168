"""Exceptions with messages meant for users."""


class StashtagError(Exception):
    """Base class of every error stashtag reports to a user."""


class InputError(StashtagError, ValueError):
    """An image, rectangle list or prompt that cannot be processed (names what is wrong)."""


class ExportError(StashtagError):
    """A model could not be exported or failed its parity check."""


class ServeError(StashtagError):
    """Triton could not be started or did not become ready."""
