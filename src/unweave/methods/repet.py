"""REPET: the repeating background (accompaniment) against the non-repeating foreground (voice).

- ``repet``: Rafii & Pardo, "REpeating Pattern Extraction Technique (REPET): a simple method
  for music/voice separation", IEEE TASLP 21(1), 2013. The repeating period is read off the
  beat spectrum (autocorrelation of the power spectrogram, averaged over frequency); the
  median of the spectrogram's period-long segments models the background.
- ``repet-sim``: Rafii & Pardo, "Music/voice separation using the similarity matrix", ISMIR
  2012. Each frame's background is the median of the frames most similar to it (cosine
  similarity), so repetitions need not be periodic.

Both build ``W = min(model, |X|)`` and the soft mask ``W / |X|`` for the accompaniment; the
vocals are the rest. Long inputs are handled by windowed REPET: ``segment_seconds`` cuts the
song into overlapping segments, each with its own period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unweave.errors import UnweaveError
from unweave.methods.base import Assumptions, Separation, Separator, register
from unweave.spectral import STFTConfig, istft, stft

MUSIC = Assumptions(content="music (repeating accompaniment)")


def stft_for(sample_rate: int, window_seconds: float = 0.04) -> STFTConfig:
    """A window of about ``window_seconds`` (a power of two) with 75% overlap."""
    n_fft = int(2 ** np.round(np.log2(window_seconds * sample_rate)))
    return STFTConfig(n_fft, n_fft // 4)


def beat_spectrum(power: np.ndarray) -> np.ndarray:
    """Mean over frequency of each row's autocorrelation: ``(freqs, frames)`` -> ``(frames,)``,
    normalised to 1 at lag 0 (unbiased: each lag divided by its number of terms)."""
    n = power.shape[-1]
    spec = np.fft.rfft(power, n=2 * n, axis=-1)
    acf = np.fft.irfft(np.abs(spec) ** 2, axis=-1)[..., :n] / np.arange(n, 0, -1)
    beat = acf.mean(axis=0)
    return beat / beat[0] if beat[0] > 0 else beat


def repeating_period(beat: np.ndarray, lo: int, hi: int) -> int:
    """The lag in ``[lo, hi]`` frames with the highest beat spectrum (after removing its trend
    with a running minimum, so long lags are not favoured by a slowly rising floor)."""
    hi = min(hi, len(beat) - 1)
    if hi < lo:
        return max(1, len(beat) // 2)
    return int(lo + np.argmax(beat[lo : hi + 1]))


def repet_model(magnitude: np.ndarray, period: int) -> np.ndarray:
    """Repeating background: per position within the period, the median over segments.

    ``magnitude`` is ``(freqs, frames)``; returns the tiled model, same shape.
    """
    n_freq, n = magnitude.shape
    n_seg = -(-n // period)
    padded = np.full((n_freq, n_seg * period), np.nan, magnitude.dtype)
    padded[:, :n] = magnitude
    segments = padded.reshape(n_freq, n_seg, period)
    model = np.nanmedian(segments, axis=1)  # (freqs, period)
    return np.tile(model, n_seg)[:, :n]


def repet_sim_model(magnitude: np.ndarray, max_frames: int, min_distance: int,
                    threshold: float = 0.0, block: int = 256) -> np.ndarray:
    """Background model of REPET-SIM: per frame, the median of its most similar frames.

    Similar frames are the peaks of the frame's row of the cosine-similarity matrix, at least
    ``min_distance`` frames apart, above ``threshold``, at most ``max_frames`` (the frame itself
    included).
    """
    n_freq, n = magnitude.shape
    norms = np.linalg.norm(magnitude, axis=0)
    unit = magnitude / np.maximum(norms, np.finfo(float).tiny)
    model = np.empty_like(magnitude)
    k = min(max_frames, n)
    for start in range(0, n, block):  # rows of the similarity matrix in blocks
        rows = slice(start, min(start + block, n))
        sim = unit[:, rows].T @ unit  # (block, frames)
        from scipy.ndimage import maximum_filter1d

        peaks = sim == maximum_filter1d(sim, size=2 * min_distance + 1, axis=1, mode="constant")
        sim = np.where(peaks & (sim > threshold), sim, -np.inf)
        sim[np.arange(sim.shape[0]), np.arange(rows.start, rows.stop)] = np.inf  # itself
        best = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        valid = np.take_along_axis(sim, best, axis=1) > -np.inf
        picked = magnitude[:, best]  # (freqs, block, k)
        picked = np.where(valid[None], picked, np.nan)
        model[:, rows] = np.nanmedian(picked, axis=-1)
    return model


@dataclass
class _Repet(Separator):
    segment_seconds: float = 0.0

    assumptions = MUSIC

    def _model(self, magnitude: np.ndarray, sample_rate: int, config: STFTConfig) -> np.ndarray:
        raise NotImplementedError

    def separate(self, mixture, sample_rate, **inputs):
        if self.segment_seconds > 0 and mixture.shape[-1] > self.segment_seconds * sample_rate:
            from unweave.methods.chunking import separate_in_chunks

            whole = type(self)(**{**self.__dict__, "segment_seconds": 0.0})
            return separate_in_chunks(whole, mixture, sample_rate, self.segment_seconds,
                                      self.segment_seconds / 4)
        config = stft_for(sample_rate)
        spec = stft(mixture, config)
        magnitude = np.abs(spec)
        # One model from the channels' mean magnitude, applied to each channel (as REPET).
        model = self._model(magnitude.mean(axis=0), sample_rate, config)
        background = np.minimum(model[None], magnitude)
        mask = np.where(magnitude > 0, background / np.maximum(magnitude, 1e-12), 1.0)
        length = mixture.shape[-1]
        accompaniment = istft(spec * mask, config, length)
        return Separation({"vocals": mixture - accompaniment, "accompaniment": accompaniment},
                          sample_rate, {"accompaniment": mask, "vocals": 1 - mask},
                          {"stft": config})


@register
@dataclass
class Repet(_Repet):
    """REPET (Rafii & Pardo 2013): periodic repeating background.

    ``min_period``/``max_period`` bound the repeating period in seconds.

    >>> sep = Repet()(song, 16000); sep["vocals"], sep["accompaniment"]   # doctest: +SKIP
    """

    min_period: float = 0.8
    max_period: float = 8.0

    name = "repet"
    summary = "REPET: repeating background vs vocals, via the beat spectrum"
    reference = "Rafii & Pardo, IEEE TASLP 21(1), 2013"

    def __post_init__(self):
        if not 0 < self.min_period < self.max_period:
            raise UnweaveError("need 0 < min_period < max_period (seconds)")

    def _model(self, magnitude, sample_rate, config):
        frames_per_second = sample_rate / config.hop
        beat = beat_spectrum(magnitude**2)
        period = repeating_period(beat, max(1, int(self.min_period * frames_per_second)),
                                  int(self.max_period * frames_per_second))
        return repet_model(magnitude, period)


@register
@dataclass
class RepetSim(_Repet):
    """REPET-SIM (Rafii & Pardo 2012): non-periodic repetitions from the similarity matrix.

    ``max_frames`` similar frames at least ``min_distance`` seconds apart, similarity above
    ``threshold``.
    """

    max_frames: int = 100
    min_distance: float = 1.0
    threshold: float = 0.0

    name = "repet-sim"
    summary = "REPET-SIM: background from similar frames (similarity matrix)"
    reference = "Rafii & Pardo, ISMIR 2012"

    def __post_init__(self):
        if self.max_frames < 1 or self.min_distance < 0:
            raise UnweaveError("need max_frames >= 1 and min_distance >= 0")

    def _model(self, magnitude, sample_rate, config):
        distance = max(1, int(self.min_distance * sample_rate / config.hop))
        return repet_sim_model(magnitude, self.max_frames, distance, self.threshold)
