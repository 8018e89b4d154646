"""Mixtures with known ground truth: instantaneous, anechoic and convolutive.

Every simulator returns the mixture ``(mics, samples)`` and each source's image at every
microphone ``(sources, mics, samples)`` (the mixture is their sum): the references BSS Eval
images need.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal

from unweave.errors import UnweaveError


def _as_sources(sources) -> np.ndarray:
    s = np.asarray(sources, np.float64)
    if s.ndim == 3 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 2:
        raise UnweaveError(f"sources must be (sources, samples) mono signals; got {s.shape}")
    return s


def instantaneous(sources, mixing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x = A s`` with ``mixing`` ``A`` ``(mics, sources)``."""
    s = _as_sources(sources)
    a = np.asarray(mixing, np.float64)
    if a.shape[1] != s.shape[0]:
        raise UnweaveError(f"mixing matrix {a.shape} does not fit {s.shape[0]} sources")
    images = a.T[:, :, None] * s[:, None, :]
    return images.sum(axis=0), images


def fractional_delay(signal: np.ndarray, delay: float) -> np.ndarray:
    """``signal`` delayed by ``delay`` samples (any real number), same length, by a phase
    ramp in the frequency domain (zero-padded, so nothing wraps around)."""
    n = signal.shape[-1]
    pad = int(np.ceil(abs(delay))) + 1
    nfft = 2 * (n + pad)
    spec = np.fft.rfft(signal, nfft)
    spec = spec * np.exp(-2j * np.pi * np.fft.rfftfreq(nfft) * delay)
    return np.fft.irfft(spec, nfft)[..., :n]


def anechoic(sources, gains: np.ndarray, delays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each source reaches mic ``m`` scaled by ``gains[m, j]`` and delayed by ``delays[m, j]``
    samples (fractional delays allowed)."""
    s = _as_sources(sources)
    gains, delays = np.asarray(gains, float), np.asarray(delays, float)
    images = np.stack([np.stack([gains[m, j] * fractional_delay(s[j], delays[m, j])
                                 for m in range(gains.shape[0])]) for j in range(s.shape[0])])
    return images.sum(axis=0), images


def convolutive(sources, rirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each source convolved with its room impulse responses ``rirs`` ``(sources, mics, taps)``;
    images are cut to the sources' length."""
    s = _as_sources(sources)
    rirs = np.asarray(rirs, np.float64)
    if rirs.shape[0] != s.shape[0]:
        raise UnweaveError(f"{rirs.shape[0]} sets of impulse responses for {s.shape[0]} sources")
    n = s.shape[-1]
    images = scipy.signal.fftconvolve(s[:, None, :], rirs, axes=-1)[..., :n]
    return images.sum(axis=0), images


def load_rirs(paths: list[str | Path], mics: list[int], sample_rate: int) -> np.ndarray:
    """Impulse responses ``(sources, len(mics), taps)`` from one multichannel WAV per source
    position, resampled to ``sample_rate`` and scaled so the loudest tap is 1."""
    from unweave.audio import read_audio, resample

    out = []
    for p in paths:
        audio, rate = read_audio(p)
        if max(mics) >= audio.shape[0]:
            raise UnweaveError(f"{p}: has {audio.shape[0]} channels; mic {max(mics)} asked")
        out.append(resample(audio[mics].astype(np.float64), rate, sample_rate))
    rirs = np.stack(out)
    return rirs / np.abs(rirs).max()


def impulse_responses(paths: list[str | Path], sample_rate: int) -> list[np.ndarray]:
    """Every channel of every file as one room impulse response ``(taps,)`` at
    ``sample_rate`` (a 32-microphone measurement gives 32 of them), for
    :func:`unweave.data.augment.reverberate`."""
    from unweave.audio import read_audio, resample

    out = []
    for p in paths:
        audio, rate = read_audio(p)
        out += list(resample(audio.astype(np.float64), rate, sample_rate))
    return out
