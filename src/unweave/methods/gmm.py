"""Singing-voice separation from stereo music with a Gaussian mixture over panning features.

Kim, Beack, Choi & Kang, "Gaussian mixture model for singing voice separation from
stereophonic music", AES 43rd International Conference, 2011. Each time-frequency bin gets
inter-channel features (the level panning index ``(|L| - |R|) / (|L| + |R|)`` and the phase
difference); a Gaussian mixture fitted to them (weighted by the bins' energy) finds the
groups of sources panned alike, and the component nearest the centre (no level or phase
difference) is the voice. Its posterior probability is the vocals' soft mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unweave.errors import UnweaveError
from unweave.methods.base import Assumptions, Separation, Separator, register
from unweave.methods.iterative import check_iterations, iterate
from unweave.spectral import STFTConfig, istft, stft


@dataclass
class GaussianMixture:
    """Diagonal-covariance mixture: ``means``/``variances`` ``(K, D)``, ``weights`` ``(K,)``."""

    means: np.ndarray
    variances: np.ndarray
    weights: np.ndarray

    def log_joint(self, x: np.ndarray) -> np.ndarray:
        """``log p(x, k)`` for ``x`` ``(N, D)`` -> ``(N, K)``."""
        diff = x[:, None, :] - self.means[None]
        return (np.log(self.weights + 1e-300)[None]
                - 0.5 * np.sum(diff**2 / self.variances + np.log(2 * np.pi * self.variances),
                               axis=-1))

    def posteriors(self, x: np.ndarray) -> np.ndarray:
        lj = self.log_joint(x)
        lj -= lj.max(axis=1, keepdims=True)
        p = np.exp(lj)
        return p / p.sum(axis=1, keepdims=True)


def fit_gmm(x: np.ndarray, n_components: int, sample_weight: np.ndarray | None = None,
            n_iter: int = 50, seed: int = 0, min_variance: float = 1e-4
            ) -> tuple[GaussianMixture, list[float]]:
    """Weighted EM for a diagonal Gaussian mixture on ``x`` ``(N, D)``; returns the model and
    the history of the weighted mean log-likelihood."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    w = w / w.sum()
    start = rng.choice(n, size=n_components, replace=False, p=w)
    model = GaussianMixture(x[start].copy(), np.tile(x.var(axis=0) + min_variance,
                                                     (n_components, 1)),
                            np.full(n_components, 1.0 / n_components))

    def update(m: GaussianMixture) -> GaussianMixture:
        resp = m.posteriors(x) * w[:, None]
        mass = resp.sum(axis=0) + 1e-12
        means = (resp.T @ x) / mass[:, None]
        var = (resp.T @ x**2) / mass[:, None] - means**2
        return GaussianMixture(means, np.maximum(var, min_variance), mass / mass.sum())

    def objective(m: GaussianMixture) -> float:
        lj = m.log_joint(x)
        top = lj.max(axis=1)
        return -float(w @ (top + np.log(np.exp(lj - top[:, None]).sum(axis=1))))

    model, history = iterate(update, objective, model, n_iter, tol=1e-6, every=5)
    return model, [-h for h in history]


def panning_features(spec: np.ndarray) -> np.ndarray:
    """``(freqs, frames, 2)``: level panning index in [-1, 1] and phase difference / pi."""
    left, right = np.abs(spec[0]), np.abs(spec[1])
    pan = (left - right) / np.maximum(left + right, 1e-12)
    phase = np.angle(spec[0] * spec[1].conj()) / np.pi
    return np.stack([pan, phase], axis=-1)


@register
@dataclass
class GMMVoice(Separator):
    """GMM singing-voice separation from stereo music (Kim et al. 2011).

    ``n_components`` Gaussians over (level panning, phase difference) of the bins above
    ``low_hz``; ``max_bins`` of them (energy-weighted random draw, fixed by ``seed``) fit it.
    """

    n_components: int = 3
    n_iter: int = 50
    low_hz: float = 200.0
    max_bins: int = 50000
    seed: int = 0
    n_fft: int = 4096
    hop: int = 1024

    name = "gmm"
    summary = "GMM over panning features: the centre component is the voice"
    reference = "Kim, Beack, Choi & Kang, AES 43rd Conference, 2011"
    assumptions = Assumptions(min_channels=2, max_channels=2, content="music", mixing="panned")

    def __post_init__(self):
        check_iterations(self.n_iter)
        if not 2 <= self.n_components <= 64:
            raise UnweaveError("n_components must be 2 to 64 (voice and the rest)")
        if self.max_bins < 100 or self.low_hz < 0:
            raise UnweaveError("need max_bins >= 100 and low_hz >= 0")
        self._stft = STFTConfig(self.n_fft, self.hop)

    def separate(self, mixture, sample_rate, **inputs):
        spec = stft(mixture, self._stft)
        feats = panning_features(spec)
        energy = (np.abs(spec) ** 2).sum(axis=0)
        band = self._stft.freqs(sample_rate) >= self.low_hz
        x = feats[band].reshape(-1, 2)
        e = energy[band].reshape(-1)
        rng = np.random.default_rng(self.seed)
        active = np.flatnonzero(e > 1e-10 * e.max())
        if active.size < 10 * self.n_components:
            raise UnweaveError("too few active time-frequency bins to fit the mixture model")
        p = e[active] / e[active].sum()
        take = rng.choice(active, size=min(self.max_bins, active.size), replace=False, p=p)
        model, history = fit_gmm(x[take], self.n_components, n_iter=self.n_iter, seed=self.seed)
        voice = int(np.argmin(np.sum(model.means**2, axis=1)))
        mask = np.zeros(energy.shape, np.float32)
        mask[band] = model.posteriors(feats[band].reshape(-1, 2))[:, voice].reshape(
            int(band.sum()), -1)
        mid = 0.5 * (spec[0] + spec[1])
        length = mixture.shape[-1]
        vocals = istft(np.broadcast_to(mask * mid, spec.shape), self._stft, length)
        return Separation({"vocals": vocals, "accompaniment": mixture - vocals}, sample_rate,
                          {"vocals": np.broadcast_to(mask, spec.shape)},
                          {"history": history, "voice_mean": model.means[voice]})
