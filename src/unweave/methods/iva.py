"""Frequency-domain blind separation of convolutive mixtures: AuxIVA and ILRMA.

- ``auxiva``: Ono, "Stable and fast update rules for independent vector analysis based on
  auxiliary function technique", WASPAA 2011. Each frequency has its own demixing matrix; a
  spherical Laplace source model couples the frequencies (no permutation problem), and
  iterative projection (IP) updates each demixing row in closed form.
- ``ilrma``: Kitamura, Ono, Sawada, Kameoka & Saruwatari, "Determined blind source separation
  unifying independent vector analysis and nonnegative matrix factorization", IEEE/ACM TASLP
  24(9), 2016: the same IP updates with a low-rank (NMF) model of each source's power
  spectrogram instead of the Laplace model.

Spectrograms are frequency-major here, ``(freqs, channels, frames)``, and every update is
vectorised over frequency. With more microphones than sources, the mixture is first reduced to
its ``n_sources`` principal components per frequency. Estimates are projected back to every
microphone (least squares), so ``source_j`` is the source's image, shaped like the input.
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
from unweave.spectral import STFTConfig, istft, stft
from unweave.threads import PartPool, parts

EPS = 1e-10


def reduce_channels(x: np.ndarray, n: int) -> np.ndarray:
    """``(F, M, T)`` -> ``(F, n, T)``: projection on the ``n`` principal components per
    frequency (whitening is not applied, so scales stay comparable across frequencies)."""
    if x.shape[1] == n:
        return x
    cov = x @ x.conj().transpose(0, 2, 1) / x.shape[2]
    _, vecs = np.linalg.eigh(cov)
    top = vecs[:, :, ::-1][:, :, :n]  # (F, M, n)
    return top.conj().transpose(0, 2, 1) @ x


def outer_products(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x x^H`` per bin, flattened, as real and imaginary parts: ``(F, N, T)`` -> two
    ``(F, T, N * N)`` arrays (real weights then need two real products, not a complex one)."""
    n_freq, n, n_frames = x.shape
    outer = (x[:, :, None, :] * x.conj()[:, None, :, :]).reshape(n_freq, n * n, n_frames)
    outer = outer.transpose(0, 2, 1)
    return np.ascontiguousarray(outer.real), np.ascontiguousarray(outer.imag)


def ip_update(w: np.ndarray, x: np.ndarray, weights: np.ndarray,
              xx: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """One sweep of iterative projection over the sources.

    ``w`` ``(F, N, N)`` demixing, ``x`` ``(F, N, T)``, ``weights`` ``(N, F, T)``: the inverse
    source variances of the auxiliary function (1/r for Laplace IVA, 1/R for ILRMA); ``xx``:
    :func:`outer_products` of ``x`` (computed here if not given).
    """
    n_freq, n, n_frames = x.shape
    eye = np.eye(n)
    w = w.copy()
    if xx is None:
        xx = outer_products(x)
    # Weighted covariances V_k(f) = mean_t weight_k x x^H of every source, one product.
    wt = weights.transpose(1, 0, 2) / n_frames  # (F, N, T)
    covs = (wt @ xx[0] + 1j * (wt @ xx[1])).reshape(n_freq, n, n, n)
    for k in range(n):
        v = covs[:, k] + EPS * eye
        col = np.linalg.solve(w @ v, np.broadcast_to(eye[:, k], (n_freq, n))[..., None])[..., 0]
        norm = np.sqrt(np.maximum(np.einsum("fi,fij,fj->f", col.conj(), v, col).real, EPS))
        w[:, k, :] = (col / norm[:, None]).conj()
    return w


def project_back(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Images ``(N, M, F, T)`` of the separated ``y`` ``(F, N, T)`` at the microphones of
    ``x`` ``(F, M, T)``: per frequency, the least-squares scale of each source on each mic."""
    cross = x @ y.conj().transpose(0, 2, 1)  # (F, M, N)
    power = np.maximum(np.sum(np.abs(y) ** 2, axis=2), EPS)  # (F, N)
    gains = cross / power[:, None, :]
    return gains.transpose(2, 1, 0)[..., None] * y.transpose(1, 0, 2)[:, None]  # (N, M, F, T)


def _logdet(w: np.ndarray) -> np.ndarray:
    return np.linalg.slogdet(w)[1]


def auxiva(x: np.ndarray, n_iter: int = 50, w0: np.ndarray | None = None, callback=None,
           threads: int | None = None) -> tuple[np.ndarray, list[float]]:
    """Demixing matrices ``(F, N, N)`` for ``x`` ``(F, N, T)`` (Laplace source model, IP).

    The source radii sum over frequency; the IP sweeps are per frequency, on four fixed bands
    of frequencies updated on ``threads`` threads (the result does not depend on their
    number)."""
    n_freq, n, _ = x.shape
    w = np.tile(np.eye(n, dtype=complex), (n_freq, 1, 1)) if w0 is None else w0
    xx = outer_products(x)
    bands = parts(n_freq, 4)

    def band_power(w, band):  # sum over the band's frequencies of |W x|^2, (N, T)
        y = w[band] @ x[band]
        return (y.real**2 + y.imag**2).sum(axis=0)

    def radius(w, pool):
        return np.sqrt(sum(pool.map(lambda band: band_power(w, band))))  # (N, T)

    def update(w, pool):
        weights = 1.0 / np.maximum(radius(w, pool), EPS)[:, None, :]
        new = np.empty_like(w)

        def sweep(band):
            new[band] = ip_update(w[band], x[band], weights, (xx[0][band], xx[1][band]))

        pool.map(sweep)
        return new

    with PartPool(bands, threads) as pool:
        def objective(w):
            return float(np.sum(radius(w, pool).mean(axis=1)) - 2 * np.sum(_logdet(w)))

        return iterate(lambda w: update(w, pool), objective, w, n_iter, callback=callback)


def ilrma(x: np.ndarray, n_components: int = 2, n_iter: int = 50, seed: int = 0,
          callback=None, threads: int | None = None) -> tuple[np.ndarray, list[float]]:
    """Demixing matrices ``(F, N, N)`` for ``x`` ``(F, N, T)`` with an NMF model per source.

    Every update but the activations' is per frequency: the frequencies are cut into four
    fixed parts, updated on ``threads`` threads (default: the CPUs), so the result does not
    depend on the number of threads.
    """
    rng = np.random.default_rng(seed)
    n_freq, n, n_frames = x.shape
    w = np.tile(np.eye(n, dtype=complex), (n_freq, 1, 1))
    bases = rng.uniform(0.1, 1.0, (n, n_freq, n_components))
    acts = rng.uniform(0.1, 1.0, (n, n_components, n_frames))
    xx = outer_products(x)
    bands = parts(n_freq, 4)

    def powers(w, x):  # |W x|^2 as (N, F, T)
        y = (w @ x).transpose(1, 0, 2)
        return y.real**2 + y.imag**2

    def update(state, pool: PartPool):
        # The model R = T V is carried in the state (one product fewer per iteration); the
        # multiplicative updates reuse their temporaries.
        w_old, t_old, v, p_old, r_old = state
        # The new state, filled band by band.
        w, t, p, r = (np.empty_like(a) for a in (w_old, t_old, p_old, r_old))
        vt = v.transpose(0, 2, 1)

        def bases_update(band):  # T in this band, then its share of the sums over frequency
            ir = 1.0 / r_old[:, band]
            pir2 = p_old[:, band] * ir
            pir2 *= ir
            t[:, band] = t_old[:, band] * np.sqrt((pir2 @ vt) / (ir @ vt))
            ir = t[:, band] @ v
            ir += EPS
            np.reciprocal(ir, out=ir)
            pir2 = p_old[:, band] * ir
            pir2 *= ir
            tt = t[:, band].transpose(0, 2, 1)
            return tt @ pir2, tt @ ir

        sums = pool.map(bases_update)
        v = v * np.sqrt(sum(a for a, _ in sums) / sum(b for _, b in sums))

        def demixing_update(band):  # R, the IP sweep and the source powers in this band
            r[:, band] = t[:, band] @ v + EPS
            w[band] = ip_update(w_old[band], x[band], 1.0 / r[:, band],
                                (xx[0][band], xx[1][band]))
            p[:, band] = powers(w[band], x[band])
            return p[:, band].sum(axis=(1, 2))

        # Keep scales in check: unit-power sources, the model rescaled alike.
        power = sum(pool.map(demixing_update)) / (n_freq * n_frames) + EPS
        scale = (1.0 / power)[:, None, None]

        def rescale(band):
            w[band] /= np.sqrt(power)[None, :, None]
            t[:, band] *= scale
            p[:, band] *= scale
            r[:, band] *= scale

        pool.map(rescale)
        return w, t, v, p, r

    def objective(state):
        w, t, v, p, r = state
        return float(np.sum(np.mean(p / r + np.log(r), axis=2)) - 2 * np.sum(_logdet(w)))

    with PartPool(bands, threads) as pool:
        (w, *_), history = iterate(lambda state: update(state, pool), objective,
                                   (w, bases, acts, powers(w, x), bases @ acts + EPS), n_iter,
                                   callback=callback)
    return w, history


@dataclass
class _FrequencyDomainBSS(Separator):
    n_sources: int = 0
    n_iter: int = 50
    n_fft: int = 2048
    hop: int = 512

    assumptions = Assumptions(min_channels=2, content="any (speech, music)",
                              mixing="convolutive (delays, reverberation)")
    ordered_sources = False  # blind: no source has a fixed place

    def __post_init__(self):
        check_iterations(self.n_iter)
        if not 0 <= self.n_sources <= MAX_BLIND_SOURCES:
            raise UnweaveError(f"need 0 <= n_sources <= {MAX_BLIND_SOURCES} (0: as many as "
                               "channels)")
        self._stft = STFTConfig(self.n_fft, self.hop)

    def demix(self, x: np.ndarray) -> tuple[np.ndarray, list[float]]:
        raise NotImplementedError

    def separate(self, mixture, sample_rate, **inputs):
        n = count_blind_sources(self.name, self.n_sources, mixture.shape[0])
        spec = stft(mixture.astype(np.float64), self._stft)  # (M, F, T)
        x_full = spec.transpose(1, 0, 2)  # (F, M, T)
        x = reduce_channels(x_full, n)
        w, history = self.demix(x)
        images = project_back(w @ x, x_full)  # (N, M, F, T)
        length = mixture.shape[-1]
        signals = istft(images, self._stft, length).astype(mixture.dtype)
        order = np.argsort(-np.sum(signals.astype(np.float64) ** 2, axis=(1, 2)))
        out = {f"source_{i + 1}": signals[j] for i, j in enumerate(order)}
        return Separation(out, sample_rate, info={"history": history, "stft": self._stft})


@register
@dataclass
class AuxIVA(_FrequencyDomainBSS):
    """AuxIVA with IP updates (Ono 2011) for determined/over-determined convolutive mixtures.

    >>> AuxIVA(n_sources=2, n_iter=50)(recording, 16000)   # doctest: +SKIP
    """

    name = "auxiva"
    summary = "AuxIVA: frequency-domain IVA for reverberant mixtures"
    reference = "Ono, WASPAA 2011"

    def demix(self, x):
        return auxiva(x, self.n_iter)


@register
@dataclass
class ILRMA(_FrequencyDomainBSS):
    """ILRMA (Kitamura et al. 2016): IVA with a low-rank (NMF) source model."""

    n_components: int = 2
    seed: int = 0

    name = "ilrma"
    summary = "ILRMA: IVA with NMF source models for reverberant mixtures"
    reference = "Kitamura, Ono, Sawada, Kameoka & Saruwatari, IEEE/ACM TASLP 24(9), 2016"

    def demix(self, x):
        return ilrma(x, self.n_components, self.n_iter, self.seed)
