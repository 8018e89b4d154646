"""FastICA for instantaneous mixtures (``x = A s``, as many microphones as sources or more).

Hyvärinen & Oja, "Independent component analysis: algorithms and applications", Neural
Networks 13(4-5), 2000. The mixture is centred and whitened (PCA down to ``n_sources``
dimensions), then the demixing rows are found by the fixed-point iteration with the ``logcosh``
contrast, all at once with symmetric orthogonalisation or one by one with deflation. ICA leaves
each source's scale and sign unknown; projecting back to the microphones (the estimated mixing
column times the source) fixes both, so ``source_j`` is that source's image at every microphone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unweave.errors import UnweaveError
from unweave.methods.base import (
    MAX_BLIND_SOURCES,
    Assumptions,
    Separation,
    Separator,
    count_blind_sources,
    register,
)
from unweave.methods.iterative import check_iterations, iterate

GAUSS_LOGCOSH = 0.374567  # E[log cosh(v)] for a standard normal v


def whiten(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(z, K, mean)``: ``z = K (x - mean)`` ``(n, samples)`` has identity covariance."""
    mean = x.mean(axis=1, keepdims=True)
    xc = x - mean
    evals, evecs = np.linalg.eigh(xc @ xc.T / xc.shape[1])
    order = np.argsort(evals)[::-1][:n]
    if evals[order[-1]] <= 1e-12 * max(evals[order[0]], 1e-300):
        raise UnweaveError(f"the mixture has fewer than {n} independent channels")
    k = (evecs[:, order] / np.sqrt(evals[order])).T
    return k @ xc, k, mean


def _sym_decorrelate(w: np.ndarray) -> np.ndarray:
    evals, evecs = np.linalg.eigh(w @ w.T)
    return (evecs / np.sqrt(np.maximum(evals, 1e-300))) @ evecs.T @ w


#: FastICA's two ways of finding the rows: all at once (symmetric) or one after another.
ALGORITHMS = ("symmetric", "deflation")


def fastica(x: np.ndarray, n_sources: int, algorithm: str = "symmetric", n_iter: int = 200,
            tol: float = 1e-4, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Demixing of ``x`` ``(mics, samples)``: returns the sources ``(n_sources, samples)``
    (unit variance), the mixing estimate ``(mics, n_sources)`` and the contrast history."""
    z, k, _ = whiten(np.asarray(x, np.float64), n_sources)
    rng = np.random.default_rng(seed)
    w0 = _sym_decorrelate(rng.standard_normal((n_sources, n_sources)))

    def step(w_rows: np.ndarray) -> np.ndarray:
        y = w_rows @ z
        g = np.tanh(y)
        return (g @ z.T) / z.shape[1] - (1 - g**2).mean(axis=1, keepdims=True) * w_rows

    def contrast(w_rows: np.ndarray) -> float:
        y = w_rows @ z
        return -float(np.sum((np.mean(np.logaddexp(y, -y) - np.log(2), axis=1)
                              - GAUSS_LOGCOSH) ** 2))

    def change(new: np.ndarray, old: np.ndarray) -> float:
        """Fixed point reached when each row keeps its direction (up to sign)."""
        return float(np.max(np.abs(np.abs(np.sum(new * old, axis=-1)) - 1)))

    if algorithm == "symmetric":
        def sym_update(state):
            w_old = state[0]
            w_new = _sym_decorrelate(step(w_old))
            return w_new, change(w_new, w_old)

        (w, _), history = iterate(sym_update, lambda st: contrast(st[0]), (w0, np.inf), n_iter,
                                  every=n_iter, converged=lambda st: st[1] < tol)
    elif algorithm == "deflation":
        w = np.zeros_like(w0)
        for i in range(n_sources):
            def one(state, i=i):
                v = step(state[0][None])[0]
                v -= w[:i].T @ (w[:i] @ v)  # Gram-Schmidt against the rows found so far
                v /= np.linalg.norm(v)
                return v, change(v[None], state[0][None])
            (w[i], _), _ = iterate(one, lambda st: 0.0, (w0[i], np.inf), n_iter, every=n_iter,
                                   converged=lambda st: st[1] < tol)
        history = [contrast(w)]
    else:
        raise UnweaveError(f"algorithm must be one of {', '.join(ALGORITHMS)} "
                           f"(got {algorithm!r})")
    demix = w @ k
    return demix @ x, np.linalg.pinv(demix), history


@register
@dataclass
class ICA(Separator):
    """FastICA (Hyvärinen & Oja 2000) for instantaneous mixtures; outputs ``source_1..N`` as
    images at every microphone (projection back).

    >>> ICA(n_sources=2, seed=0)(two_mic_recording, 16000)   # doctest: +SKIP
    """

    n_sources: int = 0
    algorithm: str = "symmetric"
    n_iter: int = 200
    tol: float = 1e-4
    seed: int = 0

    name = "ica"
    summary = "FastICA for instantaneous mixtures (no delays, no echoes)"
    reference = "Hyvarinen & Oja, Neural Networks 13(4-5), 2000"
    assumptions = Assumptions(min_channels=2, content="any", mixing="instantaneous")
    ordered_sources = False  # blind: no source has a fixed place

    def __post_init__(self):
        check_iterations(self.n_iter)
        if not 0 <= self.n_sources <= MAX_BLIND_SOURCES:
            raise UnweaveError(f"need 0 <= n_sources <= {MAX_BLIND_SOURCES} (0: as many as "
                               "channels)")
        if self.algorithm not in ALGORITHMS:
            raise UnweaveError(f"algorithm must be one of {', '.join(ALGORITHMS)} "
                               f"(got {self.algorithm!r})")

    def separate(self, mixture, sample_rate, **inputs):
        n = count_blind_sources(self.name, self.n_sources, mixture.shape[0])
        sources, mixing, history = fastica(mixture, n, self.algorithm, self.n_iter, self.tol,
                                           self.seed)
        images = mixing.T[:, :, None] * sources[:, None, :]
        # Order: loudest image first, for a stable output naming.
        order = np.argsort(-np.sum(images**2, axis=(1, 2)))
        out = {f"source_{i + 1}": images[j].astype(mixture.dtype) for i, j in enumerate(order)}
        return Separation(out, sample_rate, info={"history": history, "mixing": mixing[:, order]})
