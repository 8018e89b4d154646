"""Atomic file writes: a temporary file beside the target, renamed into place on success.

An interrupted or failed write (full disk, permission error, Ctrl-C) leaves neither a
half-written target nor the temporary file. The file gets the mode a plain ``open()`` would
give it (``0o666`` less the umask), or keeps the mode of the file it replaces.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def mode_for(path: Path) -> int:
    """The permission bits a new ``path`` should get: those of the file it replaces, or what
    ``open()`` gives under the umask (``mkstemp``'s private 0600 is only for the temporary)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def temporary_beside(path: Path) -> Path:
    """A new empty hidden file ``.<name>.<random>.part`` in ``path``'s folder (the same file
    system, so the rename into place is atomic), with the mode the target should have."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, mode_for(path))
    except OSError:
        pass  # (a file system without modes: the default stays)
    finally:
        os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success."""
    path = Path(path)
    tmp = temporary_beside(path)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
