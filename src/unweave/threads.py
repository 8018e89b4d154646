"""Threads for numpy kernels: numpy's FFTs, matrix products and most ufuncs run without the
interpreter lock, so splitting one large array operation into parts uses every core."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def threads_available(most: int = 4) -> int:
    """The CPUs this process may run on, at most ``most``."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, most))


def parts(n: int, count: int) -> list[slice]:
    """``0 .. n`` cut into ``count`` contiguous slices of nearly equal size (fewer when
    ``n < count``). A fixed count keeps results independent of the number of threads."""
    bounds = [round(i * n / count) for i in range(count + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


class PartPool:
    """Runs one function over fixed parts, on a few threads (inline with one)."""

    def __init__(self, parts: Sequence[Any], threads: int | None = None):
        self.parts = list(parts)
        n = min(threads or threads_available(), len(self.parts))
        self._pool = ThreadPoolExecutor(n) if n > 1 else None

    def map(self, fn: Callable[[Any], Any]) -> list:
        if self._pool is None:
            return [fn(p) for p in self.parts]
        return list(self._pool.map(fn, self.parts))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self) -> PartPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
