"""Augmentations for training examples: pure functions of ``(channels, samples)`` float32
arrays and an explicit ``numpy.random.Generator`` (no hidden global randomness).

- :func:`random_gain`: a gain drawn uniformly in dB (Uhlich et al. 2017 for music stems);
- :func:`swap_channels`: left and right exchanged half of the time;
- :func:`noise_for_snr`: the noise scaled so that speech / noise has a given SNR;
- :func:`reverberate`: convolution with a measured room impulse response, returning the
  reverberant signal and its dry-plus-early part (the usual enhancement target);
- :func:`low_pass` at a :func:`random_cutoff`: band-limited recordings (telephone, old media);
- :func:`tilt`: a random spectral tilt (first-order filter), so scarce noise recordings vary;
- :func:`clip`: hard clipping of the loudest peaks (overdriven recorders);
- :func:`turn_windows`: talkers taking turns, each heard in only part of an example.
"""

from __future__ import annotations

import numpy as np


def db_to_gain(db):
    return 10.0 ** (np.asarray(db) / 20.0)


def random_gain(x: np.ndarray, rng: np.random.Generator, low_db: float = -6.0,
                high_db: float = 6.0) -> np.ndarray:
    return x * np.float32(db_to_gain(rng.uniform(low_db, high_db)))


def swap_channels(x: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Channels reversed with probability ``p`` (mono unchanged)."""
    return x[::-1].copy() if x.shape[0] > 1 and rng.random() < p else x


def power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64)))


def noise_for_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``noise`` scaled so that ``10 log10(P(speech) / P(noise)) = snr_db`` (unchanged when
    either is silent)."""
    ps, pn = power(speech), power(noise)
    if ps == 0 or pn == 0:
        return noise
    return (noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))).astype(np.float32)


def reverberate(x: np.ndarray, rir: np.ndarray, sample_rate: int, early_ms: float = 50.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(reverberant, early)``, each shaped like ``x``: ``x`` convolved with ``rir`` (taps),
    and with only its direct path and the reflections within ``early_ms`` after it."""
    from scipy.signal import fftconvolve

    rir = np.asarray(rir, np.float64)
    peak = int(np.argmax(np.abs(rir)))
    rir = rir[max(0, peak - int(0.0025 * sample_rate)):]  # start just before the direct path
    rir = rir / (np.sqrt(np.sum(rir**2)) + 1e-12)
    direct = int(np.argmax(np.abs(rir)))
    early = rir.copy()
    early[direct + int(early_ms * sample_rate / 1000):] = 0
    n = x.shape[-1]
    wet = fftconvolve(x, rir[None], axes=-1)[..., :n]
    dry = fftconvolve(x, early[None], axes=-1)[..., :n]
    # Keep the early part's level that of the input: the target stays as loud as the speech.
    scale = np.sqrt(power(x) / max(power(dry), 1e-20)) if power(x) > 0 else 1.0
    return (wet * scale).astype(np.float32), (dry * scale).astype(np.float32)


def low_pass(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """``x`` low-passed at ``cutoff_hz`` (8th-order Butterworth): a band-limited recording."""
    from scipy.signal import butter, sosfilt

    sos = butter(8, min(cutoff_hz, 0.49 * sample_rate), fs=sample_rate, output="sos")
    return sosfilt(sos, x, axis=-1).astype(np.float32)


def random_cutoff(sample_rate: int, rng: np.random.Generator, low_hz: float = 3400.0
                  ) -> float:
    """A band-limit cutoff between ``low_hz`` (telephone) and 0.45 x the rate."""
    return float(rng.uniform(min(low_hz, 0.45 * sample_rate), 0.45 * sample_rate))


def tilt(x: np.ndarray, rng: np.random.Generator, strength: float = 0.5) -> np.ndarray:
    """``y[n] = x[n] - a x[n-1]`` with ``a`` uniform in ``[-strength, strength]``: brighter
    (a > 0) or darker (a < 0); loudness kept."""
    a = rng.uniform(-strength, strength)
    y = x.copy()
    y[..., 1:] -= a * x[..., :-1]
    scale = np.sqrt(power(x) / max(power(y), 1e-20)) if power(x) > 0 else 1.0
    return (y * scale).astype(np.float32)


def clip(x: np.ndarray, rng: np.random.Generator, low: float = 0.5, high: float = 0.95
         ) -> np.ndarray:
    """Clipped at a random fraction (``low``..``high``) of the peak."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0:
        return x
    level = peak * rng.uniform(low, high)
    return np.clip(x, -level, level)


def turn_windows(talkers: int, n: int, rng: np.random.Generator, fade: int = 160,
                 overlap: tuple[float, float] = (-0.15, 0.3)) -> np.ndarray:
    """``(talkers, n)`` float32 gains of talkers taking turns in an ``n``-sample example:
    in a random order, each talker speaks over its own stretch, the next one starting where
    the last one ends, give or take ``overlap`` (shares of ``n``: negative, a pause;
    positive, both at once), with ``fade``-sample ramps. Conversations hold such turns; a
    separator trained only on fully overlapped talkers never sees a talker alone, and moves
    one between its outputs in the middle of a turn (sparsely overlapped mixtures, as in
    Cosentino et al., "LibriMix", 2020, teach it to leave an output silent)."""
    cuts = np.sort(rng.uniform(0.2, 0.8, talkers - 1))
    half = rng.uniform(*overlap, talkers - 1) / 2
    starts = np.concatenate([[0.0], cuts - half])  # the first talker opens, the last closes
    stops = np.maximum(np.concatenate([cuts + half, [1.0]]), starts + 0.1)  # none empty
    t = (np.arange(n) + 0.5) / n
    ramp = np.float32(fade / max(n, 1))
    gains = np.empty((talkers, n), np.float32)
    for k, j in enumerate(rng.permutation(talkers)):
        up = np.clip((t - starts[k]) / ramp, 0, 1) if k > 0 else 1.0
        down = np.clip((stops[k] - t) / ramp, 0, 1) if k < talkers - 1 else 1.0
        gains[j] = np.minimum(up, down)
    return gains
