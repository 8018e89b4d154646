"""Errors that unweave reports to users as one line (the CLI turns them into exit status 2)."""

import os


class UnweaveError(ValueError):
    """A problem with the user's input or options; its message is shown as is."""


class AudioReadError(UnweaveError):
    """A file is missing, unreadable, not audio, empty or truncated."""


class UnknownMethodError(UnweaveError):
    """A method name that is not registered."""


#: Set this environment variable to see the traceback of an unexpected error.
DEBUG_VARIABLE = "UNWEAVE_DEBUG"


def debugging() -> bool:
    """Whether unexpected errors should propagate with their traceback (``UNWEAVE_DEBUG``)."""
    return bool(os.environ.get(DEBUG_VARIABLE))


def describe(exc: BaseException, subject: object = None) -> str:
    """One line saying what went wrong, for any exception.

    User errors show their message; system errors (a full disk, a permission error) show the
    file and the cause; anything else is a bug and says how to see its traceback.
    """
    prefix = f"{subject}: " if subject is not None else ""
    if isinstance(exc, UnweaveError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{prefix}not enough memory (try a smaller --chunk-seconds)"
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else subject
        cause = exc.strerror or str(exc) or type(exc).__name__
        return f"{where}: {cause}" if where is not None else cause
    text = (str(exc).splitlines() or [""])[0][:200]
    return (f"{prefix}unexpected {type(exc).__name__}: {text} (please report this; set "
            f"{DEBUG_VARIABLE}=1 to see the traceback)")
