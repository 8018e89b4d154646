"""REPET: the repeating background (accompaniment) against the non-repeating foreground (voice).

- ``repet``: Rafii & Pardo, "REpeating Pattern Extraction Technique (REPET): a simple method
  for music/voice separation", IEEE TASLP 21(1), 2013. The repeating period is read off the
  beat spectrum (autocorrelation of the power spectrogram, averaged over frequency); the
  median of the spectrogram's period-long segments models the background.
- ``repet-sim``: Rafii & Pardo, "Music/voice separation using the similarity matrix", ISMIR
  2012. Each frame's background is the median of the frames most similar to it (cosine
  similarity), so repetitions need not be periodic.

Both build ``W = min(model, |X|)`` and the soft mask ``W / |X|`` for the accompaniment; the
bins below ``high_pass_hz`` (100 Hz) are all accompaniment; the vocals are the rest. Long
inputs are handled by windowed REPET: ``segment_seconds`` cuts the song into overlapping
segments, each with its own period.
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


def similar_frames(magnitude: np.ndarray, max_frames: int, min_distance: int,
                   threshold: float = 0.0, block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The frames most similar to each frame, for REPET-SIM: ``(freqs, frames)`` ->
    ``(frames, k)`` indices and a ``(frames, k)`` validity mask.

    Per row of the cosine-similarity matrix, greedily: the most similar frame not yet ruled
    out is taken and every frame within ``min_distance`` of it is ruled out, starting from the
    frame itself (which is not taken), until ``max_frames`` are taken or none is left above
    ``threshold`` (Rafii & Pardo 2012, as nussl finds its peaks).
    """
    n = magnitude.shape[-1]
    norms = np.linalg.norm(magnitude, axis=0)
    unit = magnitude / np.maximum(norms, np.finfo(float).tiny)
    k = max(1, min(max_frames, n - 1))
    indices = np.zeros((n, k), np.int64)
    valid = np.zeros((n, k), bool)
    frames = np.arange(n)
    for start in range(0, n, block):  # rows of the similarity matrix in blocks
        rows = np.arange(start, min(start + block, n))
        sim = unit[:, rows].T @ unit  # (block, frames)
        sim[sim <= threshold] = -np.inf
        sim[np.abs(frames[None] - rows[:, None]) <= min_distance] = -np.inf  # itself, near
        for i in range(k):
            best = np.argmax(sim, axis=1)
            found = sim[np.arange(len(rows)), best] > -np.inf
            if not found.any():
                break
            indices[rows, i], valid[rows, i] = best, found
            near = np.abs(frames[None] - best[:, None]) <= min_distance
            sim[near] = -np.inf
    return indices, valid


def median_of_frames(magnitude: np.ndarray, indices: np.ndarray, valid: np.ndarray,
                     block: int = 256) -> np.ndarray:
    """Per frame, the median of ``magnitude`` over its similar frames: ``(..., freqs, frames)``
    -> same shape; a frame without similar frames keeps its own magnitude (all background)."""
    model = magnitude.copy()
    counts = valid.sum(axis=1)  # taken in order: the first ``count`` are the valid ones
    for count in np.unique(counts[counts > 0]):
        same = np.flatnonzero(counts == count)
        for start in range(0, len(same), block):
            rows = same[start : start + block]
            picked = magnitude[..., indices[rows, :count]]  # (..., freqs, rows, count)
            model[..., rows] = np.median(picked, axis=-1)
    return model


def repet_sim_model(magnitude: np.ndarray, max_frames: int, min_distance: int,
                    threshold: float = 0.0, block: int = 256) -> np.ndarray:
    """Background model of REPET-SIM for ``(channels, freqs, frames)`` magnitudes: similar
    frames found on the channels' mean, the median taken in each channel (as nussl)."""
    indices, valid = similar_frames(magnitude.mean(axis=0), max_frames, min_distance,
                                    threshold, block)
    return median_of_frames(magnitude, indices, valid, block)


@dataclass
class _Repet(Separator):
    segment_seconds: float = 0.0
    high_pass_hz: float = 100.0
    window_seconds: float = 0.04

    assumptions = MUSIC

    def _model(self, magnitude: np.ndarray, sample_rate: int, config: STFTConfig) -> np.ndarray:
        raise NotImplementedError

    def separate(self, mixture, sample_rate, **inputs):
        if self.segment_seconds > 0 and mixture.shape[-1] > self.segment_seconds * sample_rate:
            from unweave.methods.chunking import separate_in_chunks

            whole = type(self)(**{**self.__dict__, "segment_seconds": 0.0})
            return separate_in_chunks(whole, mixture, sample_rate, self.segment_seconds,
                                      self.segment_seconds / 4)
        config = stft_for(sample_rate, self.window_seconds)
        spec = stft(mixture, config)
        magnitude = np.abs(spec)
        model = self._model(magnitude, sample_rate, config)  # (channels, freqs, frames)
        background = np.minimum(model, magnitude)
        mask = np.where(magnitude > 0, background / np.maximum(magnitude, 1e-12), 1.0)
        # Voices are rarely below ~100 Hz: the lowest bins stay in the background (Rafii's
        # "dual high-pass filter of the foreground"; nussl's high_pass_cutoff).
        mask[..., config.freqs(sample_rate) < self.high_pass_hz, :] = 1.0
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
        beat = beat_spectrum(magnitude.mean(axis=0) ** 2)
        period = repeating_period(beat, max(1, int(self.min_period * frames_per_second)),
                                  int(self.max_period * frames_per_second))
        # One model from the channels' mean magnitude, applied to each channel (as REPET).
        return repet_model(magnitude.mean(axis=0), period)[None]


@register
@dataclass
class RepetSim(_Repet):
    """REPET-SIM (Rafii & Pardo 2012): non-periodic repetitions from the similarity matrix.

    ``max_frames`` similar frames at least ``min_distance`` seconds apart, similarity above
    ``threshold``; per channel the median of those frames. The defaults (128 ms windows, 0.5 s,
    20 frames) were chosen by a benchmark on 24 songs (docs/benchmarks.md): +5.6 dB vocals SDR
    over the mixture where nussl's defaults give +4.8 dB.
    """

    window_seconds: float = 0.128
    max_frames: int = 20
    min_distance: float = 0.5
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
