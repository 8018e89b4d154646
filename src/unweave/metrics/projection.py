"""Least-squares projections on delayed references: the kernel shared by every BSS Eval variant.

BSS Eval (Vincent, Gribonval & Févotte 2006) decomposes an estimate by projecting it on the
span of the references delayed by ``0 .. L-1`` samples (``L`` = filter length, 512). The normal
equations need the Gram matrix ``G`` of the delayed references and the correlations ``D``
between references and estimates; both are read off cross-correlations at lags ``|l| < L``.
Here those are computed blockwise (short FFTs summed over blocks: exact, with memory that does
not grow with the lag range or FFT length), and ``G`` is factored once (Cholesky) for every
estimate and channel, where the reference implementations solve one LU system per estimate.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.linalg
from numpy.lib.stride_tricks import sliding_window_view


def xcorr(x: np.ndarray, y: np.ndarray, max_lag: int) -> np.ndarray:
    """Cross-correlations at lags ``-max_lag .. max_lag``.

    ``x`` is ``(P, n)``, ``y`` is ``(Q, n)``; returns ``(P, Q, 2 max_lag + 1)`` with
    ``out[p, q, max_lag + l] = sum_t x[p, t] y[q, t + l]`` (signals are zero outside ``0..n-1``).
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = x.shape[-1]
    k = max_lag
    nfft = int(2 ** np.ceil(np.log2(max(16 * (2 * k + 1), 1024))))  # measured best
    nfft = min(nfft, int(2 ** np.ceil(np.log2(n + 2 * k + 1))))
    block = nfft - 2 * k
    n_blocks = -(-n // block)
    # y padded so that frame b covers samples b*block - k .. (b+1)*block + k.
    yp = np.zeros((y.shape[0], n_blocks * block + 2 * k))
    yp[:, k : k + n] = y
    y_frames = sliding_window_view(yp, nfft, axis=-1)[:, ::block][:, :n_blocks]
    cross = np.zeros((nfft // 2 + 1, x.shape[0], y.shape[0]), complex)
    per_chunk = 32  # blocks per pass: bounded buffers, few small matrix products
    x_frames = np.zeros((x.shape[0], per_chunk, nfft))
    for first in range(0, n_blocks, per_chunk):
        count = min(per_chunk, n_blocks - first)
        # x: each block centred in its frame with k zeros either side.
        x_frames[:, :, k : k + block] = 0
        for i in range(count):
            seg = x[:, (first + i) * block : (first + i + 1) * block]
            x_frames[:, i, k : k + seg.shape[-1]] = seg
        spec_x = scipy.fft.rfft(x_frames[:, :count], axis=-1, workers=-1)
        spec_y = scipy.fft.rfft(y_frames[:, first : first + count], axis=-1, workers=-1)
        # Sum over blocks of conj(X) Y, as one matrix product per frequency.
        cross += np.matmul(spec_x.transpose(2, 0, 1).conj(), spec_y.transpose(2, 1, 0))
    circ = scipy.fft.irfft(cross, n=nfft, axis=0, workers=-1)  # (nfft, P, Q)
    lags = np.arange(-k, k + 1) % nfft
    return np.moveaxis(circ[lags], 0, -1)


def gram(refs_xc: np.ndarray, filter_len: int) -> np.ndarray:
    """Gram matrix ``(M L, M L)`` of ``M`` signals delayed by ``0..L-1`` from their
    cross-correlations ``(M, M, 2L - 1)``; index ``(m, tau)`` is ``m * L + tau``."""
    m = refs_xc.shape[0]
    tau = np.arange(filter_len)
    idx = filter_len - 1 + tau[:, None] - tau[None, :]
    return refs_xc[:, :, idx].transpose(0, 2, 1, 3).reshape(m * filter_len, m * filter_len)


def correlations(refs_est_xc: np.ndarray, filter_len: int) -> np.ndarray:
    """Right-hand sides ``(M L, E)`` from reference/estimate cross-correlations ``(M, E, 2L-1)``:
    ``D[(m, tau), e] = sum_t ref_m[t - tau] est_e[t]``."""
    m, e = refs_est_xc.shape[:2]
    pos = refs_est_xc[:, :, filter_len - 1 :]  # lags 0..L-1
    return pos.transpose(0, 2, 1).reshape(m * filter_len, e)


def independent_channels(refs_xc: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Indices of the reference channels that span the projection space.

    Silent channels and exact (scaled) copies of an earlier channel add nothing to the span of
    the delayed references but make the Gram matrix singular; leaving them out gives the same
    projection with a well-posed system. ``refs_xc`` is ``(M, M, 2L - 1)``.
    """
    zero_lag = refs_xc[:, :, refs_xc.shape[-1] // 2]
    power = np.diag(zero_lag)
    keep: list[int] = []
    for m in range(len(power)):
        if power[m] <= 0:
            continue
        copies = [k for k in keep if zero_lag[m, k] ** 2 >= (1 - tol) * power[m] * power[k]]
        if not copies:
            keep.append(m)
    return np.array(keep, dtype=int)


class Projector:
    """Solves ``G c = d`` for many right-hand sides with one factorisation of ``G``.

    Cholesky when ``G`` is positive definite (the usual case, and the fast one). When it is
    not (silent or linearly dependent references, or windows shorter than the number of
    filter taps) the reference implementations' fallbacks are used, in their order, so that
    scores agree with them even on such degenerate input: an LU solve, then least squares.
    """

    def __init__(self, g: np.ndarray):
        self._g = g
        try:
            self._chol = scipy.linalg.cho_factor(g, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            self._chol = None

    def solve(self, d: np.ndarray) -> np.ndarray:
        """Filter coefficients ``c`` with ``G c = d`` (``d``: ``(rows, columns)``)."""
        if self._chol is not None:
            return scipy.linalg.cho_solve(self._chol, d, check_finite=False)
        try:
            return np.linalg.solve(self._g, d)
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(self._g, d, rcond=None)[0]

    def energies(self, d: np.ndarray) -> np.ndarray:
        """Energy of the projection per column of ``d``: ``|X c|^2 = c^T G c``."""
        if self._chol is not None:
            w = scipy.linalg.solve_triangular(self._chol[0], d, lower=True, check_finite=False)
            return np.einsum("ij,ij->j", w, w)
        c = self.solve(d)
        return np.einsum("ij,ij->j", c, self._g @ c)
