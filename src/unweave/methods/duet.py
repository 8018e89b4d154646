"""DUET: two microphones, any number of sources (more sources than microphones).

Rickard & Yilmaz, "On the approximate W-disjoint orthogonality of speech", ICASSP 2002;
Rickard, "The DUET blind source separation algorithm", in Blind Speech Separation, Springer
2007. In each time-frequency bin one source dominates (W-disjoint orthogonality), so the ratio
of the two channels gives that source's attenuation and delay. A weighted 2-D histogram of
(symmetric attenuation, delay) over all bins has one peak per source; each bin goes to the peak
that explains it best (maximum likelihood), giving binary masks (or soft ones).

Works for anechoic mixtures with microphones close enough that delays stay below about one
sample at the highest frequency used (no spatial aliasing).
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
    register,
)
from unweave.spectral import STFTConfig, istft, stft


def duet_features(spec: np.ndarray, n_fft: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric attenuation ``a - 1/a``, delay (samples) and angular frequency per bin of a
    stereo STFT ``(2, F, T)`` (the DC bin is left out: ``(F - 1, T)`` each)."""
    x1, x2 = spec[0, 1:], spec[1, 1:]
    ratio = (x2 + 1e-12) / (x1 + 1e-12)
    a = np.abs(ratio)
    omega = (2 * np.pi * np.arange(1, spec.shape[1]) / n_fft)[:, None]
    return a - 1 / a, -np.angle(ratio) / omega, np.broadcast_to(omega, a.shape)


def find_peaks_2d(hist: np.ndarray, n: int, min_distance: int = 3) -> list[tuple[int, int]]:
    """The ``n`` highest local maxima of ``hist`` at least ``min_distance`` bins apart."""
    from scipy.ndimage import maximum_filter

    local = (hist == maximum_filter(hist, size=2 * min_distance + 1)) & (hist > 0)
    candidates = np.argwhere(local)
    order = np.argsort(-hist[local])
    return [tuple(candidates[i]) for i in order[:n]]


@register
@dataclass
class DUET(Separator):
    """DUET (Rickard & Yilmaz): 2 microphones, ``n_sources`` sources (may exceed 2).

    ``max_attenuation`` and ``max_delay`` (samples) bound the histogram; ``p``/``q`` weigh
    bins by ``|X1 X2|^p omega^q``; ``soft`` gives soft masks instead of binary ones.

    >>> DUET(n_sources=4)(two_mic_recording, 16000)   # doctest: +SKIP
    """

    n_sources: int = 2
    max_attenuation: float = 0.7
    max_delay: float = 3.6
    bins: int = 50
    p: float = 1.0
    q: float = 0.0
    soft: bool = False
    n_fft: int = 1024
    hop: int = 256

    name = "duet"
    summary = "DUET: 2 microphones, N sources, attenuation/delay histogram"
    reference = "Rickard & Yilmaz, ICASSP 2002; Rickard, Blind Speech Separation, 2007"
    assumptions = Assumptions(min_channels=2, max_channels=2, content="sparse (speech)",
                              mixing="anechoic (gains and small delays)")
    ordered_sources = False  # blind: no source has a fixed place

    def __post_init__(self):
        if not 1 <= self.n_sources <= MAX_BLIND_SOURCES or not 5 <= self.bins <= 1000:
            raise UnweaveError(f"need 1 <= n_sources <= {MAX_BLIND_SOURCES} and "
                               "5 <= bins <= 1000")
        if not (0 <= self.p <= 4 and 0 <= self.q <= 4):
            raise UnweaveError("need 0 <= p <= 4 and 0 <= q <= 4 (the weighting exponents)")
        if self.max_attenuation <= 0 or self.max_delay <= 0:
            raise UnweaveError("max_attenuation and max_delay must be > 0")
        self._stft = STFTConfig(self.n_fft, self.hop)

    def separate(self, mixture, sample_rate, **inputs):
        spec = stft(mixture.astype(np.float64), self._stft)
        alpha, delta, omega = duet_features(spec, self.n_fft)
        weight = (np.abs(spec[0, 1:]) * np.abs(spec[1, 1:])) ** self.p * omega**self.q
        keep = (np.abs(alpha) < self.max_attenuation) & (np.abs(delta) < self.max_delay)
        edges_a = np.linspace(-self.max_attenuation, self.max_attenuation, self.bins + 1)
        edges_d = np.linspace(-self.max_delay, self.max_delay, self.bins + 1)
        hist, _, _ = np.histogram2d(alpha[keep], delta[keep], bins=[edges_a, edges_d],
                                    weights=weight[keep])
        from scipy.ndimage import gaussian_filter

        hist = gaussian_filter(hist, 1.0)
        peaks = find_peaks_2d(hist, self.n_sources)
        if len(peaks) < self.n_sources:
            raise UnweaveError(f"found {len(peaks)} sources in the attenuation/delay histogram, "
                               f"not {self.n_sources}")
        centre = lambda edges, i: 0.5 * (edges[i] + edges[i + 1])  # noqa: E731
        alphas = np.array([centre(edges_a, i) for i, _ in peaks])
        deltas = np.array([centre(edges_d, j) for _, j in peaks])
        gains = (alphas + np.sqrt(alphas**2 + 4)) / 2
        # Maximum-likelihood assignment: the source whose (gain, delay) explains the bin best.
        x1, x2 = spec[0, 1:], spec[1, 1:]
        steer = gains[:, None, None] * np.exp(-1j * omega[None] * deltas[:, None, None])
        cost = np.abs(steer * x1[None] - x2[None]) ** 2 / (1 + gains[:, None, None] ** 2)
        if self.soft:
            scale = np.median(cost) + 1e-12
            logits = -cost / scale
            masks = np.exp(logits - logits.max(axis=0))
            masks /= masks.sum(axis=0)
        else:
            masks = (np.argmin(cost, axis=0)[None] == np.arange(len(peaks))[:, None, None])
        masks = np.concatenate([np.full((len(peaks), 1, masks.shape[-1]), 1.0 / len(peaks)),
                                masks.astype(np.float64)], axis=1)  # DC bin shared evenly
        length = mixture.shape[-1]
        order = np.argsort(deltas)  # sources from one side to the other
        out = {f"source_{i + 1}": istft(spec * masks[j][None], self._stft, length)
               .astype(mixture.dtype) for i, j in enumerate(order)}
        return Separation(out, sample_rate,
                          {f"source_{i + 1}": masks[j] for i, j in enumerate(order)},
                          {"attenuations": gains[order], "delays": deltas[order],
                           "histogram": hist})
