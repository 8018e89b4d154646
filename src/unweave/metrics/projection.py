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

from unweave.threads import PartPool, threads_available


def xcorr(x: np.ndarray, y, max_lag: int, threads: int | None = None) -> np.ndarray:
    """Cross-correlations at lags ``-max_lag .. max_lag``.

    ``x`` is ``(P, n)``, ``y`` is ``(Q, n)`` or a list of such arrays (taken as one, stacked,
    without copying them into one); returns ``(P, Q, 2 max_lag + 1)`` with
    ``out[p, q, max_lag + l] = sum_t x[p, t] y[q, t + l]`` (signals are zero outside ``0..n-1``).
    Blocks of the signals are shared among ``threads`` threads (default:
    :func:`threads_available`); numpy's FFTs and matrix products run without the interpreter
    lock.
    """
    def floats(a):  # float32 or float64 as given: frames are float64, filled block by block
        a = np.asarray(a)
        return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)

    x = floats(x)
    parts = [floats(a) for a in (y if isinstance(y, list | tuple) else [y])]
    q = sum(a.shape[0] for a in parts)
    n = x.shape[-1]
    k = max_lag
    nfft = int(2 ** np.ceil(np.log2(max(16 * (2 * k + 1), 1024))))  # measured best
    nfft = min(nfft, int(2 ** np.ceil(np.log2(n + 2 * k + 1))))
    block = nfft - 2 * k
    n_blocks = -(-n // block)
    per_chunk = 8  # blocks per pass: small buffers, reused
    # x's block b at k .. k + block - 1 of its frame, time-reversed (circularly): its FFT is
    # then the conjugate spectrum that the correlation needs, with no conjugation pass.
    reverse_at = (-(k + np.arange(block))) % nfft

    def accumulate(chunks: range) -> np.ndarray:
        # Buffers made once per thread and reused: fresh large arrays cost page faults.
        p, f = x.shape[0], nfft // 2 + 1
        x_frames = np.zeros((per_chunk, p, nfft))
        y_frames = np.zeros((per_chunk, q, nfft))
        spec_x = np.empty((per_chunk, p, f), complex)
        spec_y = np.empty((per_chunk, q, f), complex)
        # Frequency-major copies: one fast matrix product per frequency, summed over blocks.
        by_freq_x = np.empty((f, p, per_chunk), complex)
        by_freq_y = np.empty((f, per_chunk, q), complex)
        product = np.empty((f, p, q), complex)
        cross = np.zeros((f, p, q), complex)
        for first in chunks:
            # y: frame b covers samples b*block - k .. (b+1)*block + k (zeros outside); frames
            # past the last block stay zero and add nothing.
            x_frames[:] = 0
            y_frames[:] = 0
            for i in range(min(per_chunk, n_blocks - first)):
                start = (first + i) * block
                seg = x[:, start : start + block]
                x_frames[i][:, reverse_at[: seg.shape[-1]]] = seg
                lo, hi = max(0, start - k), min(n, start - k + nfft)
                row = 0
                for a in parts:
                    y_frames[i, row : row + a.shape[0], lo - (start - k) : hi - (start - k)] \
                        = a[:, lo:hi]
                    row += a.shape[0]
            np.fft.rfft(x_frames, axis=-1, out=spec_x)
            np.fft.rfft(y_frames, axis=-1, out=spec_y)
            np.copyto(by_freq_x, spec_x.transpose(2, 1, 0))
            np.copyto(by_freq_y, spec_y.transpose(2, 0, 1))
            cross += np.matmul(by_freq_x, by_freq_y, out=product)
        return cross

    starts = range(0, n_blocks, per_chunk)
    workers = max(1, min(threads or threads_available(), len(starts)))
    with PartPool([starts[i::workers] for i in range(workers)], workers) as pool:
        cross = sum(pool.map(accumulate))
    circ = np.fft.irfft(cross, n=nfft, axis=0)  # (nfft, P, Q)
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


def block_levinson(refs_xc: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """Solve ``G c = d`` for the block-Toeplitz Gram matrix of :func:`gram` without forming it.

    ``refs_xc`` ``(..., M, M, 2L - 1)`` are the references' cross-correlations, ``d``
    ``(..., M L, R)`` the right-hand sides (index ``(m, tau)``); leading dimensions are a batch
    of independent systems solved together. Re-ordered by delay, ``G`` has the ``M x M``
    blocks ``A(tau - tau')`` with ``A(k) = refs_xc[..., L - 1 + k]``; the multichannel Levinson
    recursion (Whittle 1963; Wiggins & Robinson 1965) grows forward and backward predictors one
    delay at a time: ``O(M^3 L^2)`` operations where a Cholesky factorisation of ``G`` needs
    ``O(M^3 L^3)``. Returns ``None`` when a prediction-error matrix is not positive definite
    (``G`` singular or nearly so): the caller then factors ``G`` itself.
    """
    *batch, m, _, lags = refs_xc.shape
    L = (lags + 1) // 2
    # Blocks side by side, (..., M, (2L - 1) M), so that each step's run of blocks is one
    # contiguous slice: ahead[..., i M:(i + 1) M] = A(L - 1 - i), behind[...] = A(-(i + 1)).
    ahead_all = np.swapaxes(refs_xc[..., ::-1], -1, -2).reshape(*batch, m, lags * m)
    behind_all = np.ascontiguousarray(
        np.swapaxes(refs_xc[..., L - 2 :: -1] if L > 1 else refs_xc[..., :0], -1, -2)
    ).reshape(*batch, m, (L - 1) * m)
    y = np.swapaxes(d.reshape(*batch, m, L, -1), -3, -2)  # (..., L, M, R): rows by delay
    r = y.shape[-1]
    # Predictors as stacks of blocks ((..., L M, M): one matrix product per update):
    f = np.zeros((*batch, L * m, m))  # forward, f[0] = I
    # Backward, its last block I, kept at the front. At step n it is the last n + 1 blocks of
    # back_all: "one delay later" is a view that starts one (zero) block earlier, not a copy.
    back_all = np.zeros((*batch, L * m, m))
    f[..., :m, :] = back_all[..., (L - 1) * m :, :] = np.eye(m)
    x = np.zeros((*batch, L * m, r))
    ef = eb = refs_xc[..., L - 1]
    try:
        inv_ef = inv_eb = np.linalg.inv(eb)
        x[..., :m, :] = inv_eb @ y[..., 0, :, :]
        for n in range(1, L):
            ahead = ahead_all[..., (L - 1 - n) * m : (L - 1) * m]  # A(n), ..., A(1)
            behind = behind_all[..., : n * m]  # A(-1), ..., A(-n)
            b = back_all[..., (L - n) * m :, :]  # n blocks
            alpha_f = ahead @ f[..., : n * m, :]
            alpha_b = behind @ b
            gamma_f, gamma_b = -inv_eb @ alpha_f, -inv_ef @ alpha_b
            from_b = b @ gamma_f
            from_f = f[..., : (n + 1) * m, :] @ gamma_b
            f[..., m : (n + 1) * m, :] += from_b
            b = back_all[..., (L - 1 - n) * m :, :]  # one delay later: a zero block in front
            b += from_f
            ef, eb = ef + alpha_b @ gamma_f, eb + alpha_f @ gamma_b
            np.linalg.cholesky(eb)  # positive definite, or LinAlgError: G is (near) singular
            inv_ef, inv_eb = np.linalg.inv(ef), np.linalg.inv(eb)
            beta = ahead @ x[..., : n * m, :]
            step = inv_eb @ (y[..., n, :, :] - beta)
            x[..., : (n + 1) * m, :] += b @ step
    except np.linalg.LinAlgError:
        return None
    # x is by delay, (..., L M, R) with index tau * M + m: back to (m, tau).
    x = np.swapaxes(x.reshape(*batch, L, m, r), -3, -2)
    return x.reshape(*batch, m * L, r)


def toeplitz_matvec(refs_xc: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``G c`` for the Gram matrix of :func:`gram` without forming it (FFT convolutions):
    ``refs_xc`` ``(..., M, M, 2L - 1)``, ``c`` ``(..., M L, R)`` -> ``(..., M L, R)``."""
    *batch, m, _, lags = refs_xc.shape
    L = (lags + 1) // 2
    nfft = 1 << (lags + L - 1).bit_length()
    kernel = np.fft.rfft(refs_xc, nfft, axis=-1)  # (..., M, M, F)
    spec = np.fft.rfft(c.reshape(*batch, m, L, -1), nfft, axis=-2)  # (..., M, F, R)
    out = np.fft.irfft(np.einsum("...abf,...bfr->...afr", kernel, spec), nfft, axis=-2)
    return out[..., L - 1 : 2 * L - 1, :].reshape(*batch, m * L, -1)


def settled(refs_xc: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Whether each solution ``c`` of ``G c = d`` (batched as :func:`block_levinson`) has a
    residual at rounding level (relative 1e-9): the Levinson answer is kept only then."""
    residual = np.linalg.norm(toeplitz_matvec(refs_xc, c) - d, axis=(-2, -1))
    return np.isfinite(residual) & (residual <= 1e-9 * np.linalg.norm(d, axis=(-2, -1)))


def solve_together(projectors: list[Projector], rhs: list[np.ndarray]) -> list[np.ndarray]:
    """``projector.solve(d)`` for each pair, the systems of one size solved in one batched
    Levinson recursion (one Python loop for all of them); any system the batch cannot settle
    is solved on its own."""
    out: list[np.ndarray | None] = [None] * len(projectors)
    groups: dict[tuple, list[int]] = {}
    for i, (p, d) in enumerate(zip(projectors, rhs, strict=True)):
        if p._xc is not None and not p._factored:
            groups.setdefault((p._xc.shape, d.shape), []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        xc = np.stack([projectors[i]._xc for i in members])
        d = np.stack([rhs[i] for i in members])
        c = block_levinson(xc, d)
        if c is None:
            continue
        for k, (i, ok) in enumerate(zip(members, settled(xc, c, d), strict=True)):
            if ok:
                out[i] = c[k]
    return [c if c is not None else p.solve(d) for c, p, d in zip(out, projectors, rhs,
                                                                     strict=True)]


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

    def __init__(self, g: np.ndarray | None = None, refs_xc: np.ndarray | None = None):
        if g is None and refs_xc is None:
            raise ValueError("need the Gram matrix or the references' cross-correlations")
        self._given_g = g
        self._xc = refs_xc
        self._chol = None
        self._factored = False

    @property
    def _g(self) -> np.ndarray:
        if self._given_g is None:  # built only when the Levinson recursion is not enough
            self._given_g = gram(self._xc, (self._xc.shape[-1] + 1) // 2)
        return self._given_g

    def _factor(self):
        import scipy.linalg  # (only here: importing scipy costs a command's start-up time)

        if not self._factored:
            self._factored = True
            try:
                self._chol = scipy.linalg.cho_factor(self._g, lower=True, check_finite=False)
            except np.linalg.LinAlgError:
                self._chol = None

    def solve(self, d: np.ndarray) -> np.ndarray:
        """Filter coefficients ``c`` with ``G c = d`` (``d``: ``(rows, columns)``).

        With the references' cross-correlations (``refs_xc``), the block Levinson recursion
        first; its answer is kept when its residual is at rounding level (relative 1e-9),
        else ``G`` is factored as below."""
        if self._xc is not None and not self._factored:
            c = block_levinson(self._xc, d)
            if c is not None and settled(self._xc, c, d):
                return c
        self._factor()
        import scipy.linalg

        if self._chol is not None:
            return scipy.linalg.cho_solve(self._chol, d, check_finite=False)
        try:
            return np.linalg.solve(self._g, d)
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(self._g, d, rcond=None)[0]

    def energies(self, d: np.ndarray) -> np.ndarray:
        """Energy of the projection per column of ``d``: ``|X c|^2 = c^T G c``."""
        if self._xc is not None:
            return np.einsum("ij,ij->j", d, self.solve(d))
        self._factor()
        import scipy.linalg

        if self._chol is not None:
            w = scipy.linalg.solve_triangular(self._chol[0], d, lower=True, check_finite=False)
            return np.einsum("ij,ij->j", w, w)
        c = self.solve(d)
        return np.einsum("ij,ij->j", c, self._g @ c)
