"""Errors that unweave reports to users as one line (the CLI turns them into exit status 2)."""


class UnweaveError(ValueError):
    """A problem with the user's input or options; its message is shown as is."""


class AudioReadError(UnweaveError):
    """A file is missing, unreadable, not audio, empty or truncated."""


class UnknownMethodError(UnweaveError):
    """A method name that is not registered."""
