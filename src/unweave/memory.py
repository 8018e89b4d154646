"""Large arrays without fresh pages: glibc's allocator serves each block above its mmap
threshold (at most 32 MB) from a new ``mmap`` and returns it on ``free``, so a long song,
processed a segment at a time, pays for zero-filled pages again with every spectrogram and
mask of every segment (the kernel's page faults: a quarter of `unweave separate -m stems`'s
time on 2 cores, docs/benchmarks.md, fourteenth session). :func:`reuse_freed_memory` makes
the allocator keep such blocks on its heap and hand them out again, as
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...`` would (mallopt(3)).

The command line calls it for the jobs that run once and exit; a library user who wants it
calls it too. Freed memory then stays with the process until it ends, so the peak resident
memory is the high-water mark it would have reached anyway, plus fragmentation (for the
four-stem command, 200 to 400 MiB over about 1.9 GiB, bounded in the song's length).
Elsewhere than glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

#: mallopt(3)'s parameters (glibc's malloc.h).
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
#: Free memory at the top of the heap above this is given back to the system (bytes).
TRIM_THRESHOLD = 2**31 - 1


@functools.cache  # the settings are the process's: once is enough
def reuse_freed_memory() -> bool:
    """Keep large freed blocks for reuse instead of unmapping them (glibc only); returns whether
    the allocator took the settings."""
    if not sys.platform.startswith("linux"):
        return False
    try:  # the C library the interpreter already runs on
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no mallopt: not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
