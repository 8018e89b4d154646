"""Median filters along one axis of a spectrogram, the kernel of median-filtering HPSS.

``scipy.ndimage.median_filter`` selects the median separately for every output element; here
all windows of a block of rows are gathered at once and ``numpy.partition`` selects their
medians in one vectorised call, several times faster with identical results (``mode='reflect'``
edges, and for even sizes the upper median, as ndimage). Rows are processed in blocks of about
``block_bytes`` of gathered windows (128 KiB: small enough to stay in cache, which measured
twice as fast as 32 MiB blocks), so scratch memory does not grow with the signal.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def median_filter_1d(x: np.ndarray, size: int, axis: int = -1, block_bytes: int = 128 << 10
                     ) -> np.ndarray:
    """Running median of ``x`` over ``size`` elements along ``axis`` (edges reflected).

    Equals ``scipy.ndimage.median_filter`` with a size of 1 on every other axis and
    ``mode='reflect'``. ``x`` may have any shape; the result has the same shape and dtype.
    """
    if size < 1:
        raise ValueError(f"median filter size must be >= 1; got {size}")
    x = np.asarray(x)
    if size == 1 or x.size == 0:
        return x.copy()
    moved = np.moveaxis(x, axis, -1)
    rows = np.ascontiguousarray(moved).reshape(-1, moved.shape[-1])
    left = size // 2
    padded = _reflect_pad(rows, left, size - 1 - left)
    out = np.empty_like(rows)
    per_row = rows.shape[1] * size * rows.itemsize
    block = max(1, block_bytes // max(per_row, 1))
    for start in range(0, rows.shape[0], block):
        windows = np.array(sliding_window_view(padded[start : start + block], size, axis=-1))
        windows.partition(left, axis=-1)
        out[start : start + block] = windows[..., left]
    return np.moveaxis(out.reshape(moved.shape), -1, axis)


def _reflect_pad(rows: np.ndarray, left: int, right: int) -> np.ndarray:
    """Pad the last axis as ndimage's 'reflect' mode (d c b a | a b c d | d c b a), repeating
    the reflection when the pad is longer than the row."""
    n = rows.shape[-1]
    idx = np.arange(-left, n + right)
    period = 2 * n
    idx = np.mod(idx, period)
    idx = np.where(idx >= n, period - 1 - idx, idx)
    return rows[..., idx]
