"""Harmonic/percussive separation by median filtering.

FitzGerald, "Harmonic/percussive separation using median filtering", DAFx 2010; the margin
that leaves a residual is from Driedger, Müller & Disch, "Extending harmonic-percussive
separation of audio signals", ISMIR 2014.

Harmonic sounds are smooth along time (horizontal ridges of the spectrogram), percussive ones
along frequency (vertical ridges): a median filter along each axis enhances one and suppresses
the other; soft masks built from the two filtered spectrograms split the mixture.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from unweave.errors import UnweaveError
from unweave.filters import median_filter_1d
from unweave.masking import soft_mask
from unweave.methods.base import Assumptions, Separation, Separator, register
from unweave.spectral import STFTConfig, istft, stft


def hpss_masks(
    magnitude: np.ndarray,
    kernel_harmonic: int = 31,
    kernel_percussive: int = 31,
    margin_harmonic: float = 1.0,
    margin_percussive: float = 1.0,
    power: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive soft masks of a magnitude spectrogram ``(..., freqs, frames)``.

    ``kernel_harmonic`` is the median filter's length in frames (along time),
    ``kernel_percussive`` in bins (along frequency). With margins of 1 the masks sum to one;
    larger margins make both stricter and leave a residual ``1 - harmonic - percussive``.
    Same definition as ``librosa.decompose.hpss(..., mask=True)``.
    """
    magnitude = np.asarray(magnitude)
    planes = magnitude.reshape(-1, *magnitude.shape[-2:])
    jobs = [(p, kernel_harmonic, -1) for p in planes] + [(p, kernel_percussive, -2) for p in planes]
    # numpy's partition releases the GIL: one thread per plane and direction uses every core.
    with ThreadPoolExecutor(max_workers=min(len(jobs), 8)) as pool:
        filtered = list(pool.map(lambda job: median_filter_1d(job[0], job[1], axis=job[2]), jobs))
    harmonic = np.stack(filtered[: len(planes)]).reshape(magnitude.shape)
    percussive = np.stack(filtered[len(planes) :]).reshape(magnitude.shape)
    mask_h = soft_mask(harmonic, percussive * margin_harmonic, power)
    mask_p = soft_mask(percussive, harmonic * margin_percussive, power)
    return mask_h.astype(magnitude.dtype), mask_p.astype(magnitude.dtype)


#: Longest median filter (frames or bins): far past any useful length, and it bounds the time.
MAX_KERNEL = 1001


@register
@dataclass
class HPSS(Separator):
    """Median-filtering harmonic/percussive separation (FitzGerald 2010; Driedger et al. 2014).

    Sources: ``harmonic``, ``percussive``, and ``residual`` when ``margin > 1``.

    >>> sep = HPSS(kernel=31, margin=2.0)(mixture, 44100)   # doctest: +SKIP
    >>> sep["percussive"].shape == mixture.shape             # doctest: +SKIP
    """

    kernel: int = 31
    margin: float = 1.0
    power: float = 2.0
    n_fft: int = 2048
    hop: int = 512

    name = "hpss"
    summary = "harmonic/percussive by median filtering"
    reference = "FitzGerald, DAFx 2010; Driedger, Mueller & Disch, ISMIR 2014"
    assumptions = Assumptions(content="music")

    def __post_init__(self):
        if not 1 <= self.kernel <= MAX_KERNEL:
            raise UnweaveError(f"kernel must be 1 to {MAX_KERNEL} frames/bins (got "
                               f"{self.kernel}; FitzGerald uses 17 to 31)")
        if self.margin < 1:
            raise UnweaveError(f"margin must be >= 1 (got {self.margin})")
        if self.power <= 0:
            raise UnweaveError(f"power must be > 0 (got {self.power})")
        self._stft = STFTConfig(self.n_fft, self.hop)

    def separate(self, mixture, sample_rate, **inputs):
        spec = stft(mixture, self._stft)
        mask_h, mask_p = hpss_masks(np.abs(spec), self.kernel, self.kernel,
                                    self.margin, self.margin, self.power)
        masks = {"harmonic": mask_h, "percussive": mask_p}
        if self.margin > 1:
            masks["residual"] = np.clip(1 - mask_h - mask_p, 0, 1)
        length = mixture.shape[-1]
        sources = {k: istft(spec * m, self._stft, length) for k, m in masks.items()}
        return Separation(sources, sample_rate, masks, {"stft": self._stft})
