"""Procedural noise: endless noise types for speech-enhancement training when recordings are
scarce (``../shared/DATASETS.md``: minutes of real noise, not hours).

A network trained on a few dozen noise clips learns those clips, not noise; on noise types
it has never heard it falls back to little more than a fixed attenuation. Synthetic noises of
random spectral shape, modulation, pitch and burst pattern cover the space between them (the
same idea as the colored and random-spectrum noises of DNS-challenge style data pipelines).
Every function is pure: ``(1, n)`` float32 at unit power from an explicit generator.

- :func:`random_envelope`: a smooth random log-spectral shape (a random equaliser);
- :func:`colored`: stationary noise of a random envelope;
- :func:`hum`: a machine's harmonic tone (random fundamental, harmonics and wobble) over a
  colored floor;
- :func:`modulated`: colored noise under a slow random loudness envelope (traffic, wind);
- :func:`bursts`: decaying bursts at random times (knocks, clatter, typing) over a floor;
- :func:`synthetic_noise`: one of these at random.
"""

from __future__ import annotations

import numpy as np

from unweave.data.augment import power


def _unit(x: np.ndarray) -> np.ndarray:
    p = power(x)
    return (x / np.sqrt(p) if p > 0 else x).astype(np.float32)


def random_envelope(bins: int, rng: np.random.Generator, range_db: float = 30.0,
                    knots: int = 8) -> np.ndarray:
    """``(bins,)`` linear gains over ``rfft`` bins: random levels within ``range_db`` at
    ``knots`` log-spaced frequencies, interpolated, and a random overall slope."""
    x = np.log(np.arange(bins) + 1.0)
    at = np.linspace(0.0, x[-1], knots)
    level = rng.uniform(-range_db / 2, range_db / 2, knots)
    level += rng.uniform(-6.0, 3.0) * at  # dB per e-fold in frequency: dark to bright
    return (10.0 ** (np.interp(x, at, level) / 20.0)).astype(np.float32)


def shape(x: np.ndarray, rng: np.random.Generator, range_db: float = 30.0) -> np.ndarray:
    """``x`` ``(c, n)`` through a random smooth equaliser (:func:`random_envelope`), unit power."""
    spec = np.fft.rfft(x, axis=-1)
    spec *= random_envelope(spec.shape[-1], rng, range_db)
    return _unit(np.fft.irfft(spec, x.shape[-1], axis=-1))


def colored(n: int, rng: np.random.Generator) -> np.ndarray:
    return shape(rng.standard_normal((1, n)), rng)


def hum(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    f0 = float(np.exp(rng.uniform(np.log(40.0), np.log(600.0))))
    t = np.arange(n) / rate
    wobble = 1 + rng.uniform(0, 0.02) * np.sin(2 * np.pi * rng.uniform(0.1, 6.0) * t)
    phase = 2 * np.pi * f0 * np.cumsum(wobble) / rate
    decay = rng.uniform(0.3, 1.5)
    tone = np.zeros(n)
    for k in range(1, int(min(40, 0.45 * rate / f0)) + 1):
        tone += k**-decay * rng.uniform(0.3, 1.0) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    floor = colored(n, rng) * rng.uniform(0.05, 0.5)
    return _unit(_unit(tone[None]) + floor)


def modulated(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Colored noise times a smooth random envelope (random points every 50 to 1000 ms)."""
    step = max(2, int(rate * rng.uniform(0.05, 1.0)))
    points = rng.uniform(-rng.uniform(3, 30), 0, n // step + 2)
    env = 10.0 ** (np.interp(np.arange(n), np.arange(len(points)) * step, points) / 20.0)
    return _unit(colored(n, rng) * env)


def bursts(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Bursts of colored noise at Poisson times (0.5 to 15 per second), each decaying in 2 to
    200 ms, over a floor 15 to 40 dB down."""
    out = colored(n, rng)[0] * 10.0 ** (-rng.uniform(15, 40) / 20.0)
    count = rng.poisson(rng.uniform(0.5, 15.0) * n / rate)
    for start in rng.integers(0, n, count):
        length = int(rate * rng.uniform(0.005, 0.3))
        piece = colored(length, rng)[0] * np.exp(-np.arange(length) / (rate * rng.uniform(
            0.002, 0.2))) * rng.uniform(0.2, 1.0)
        stop = min(n, start + length)
        out[start:stop] += piece[: stop - start]
    return _unit(out[None])


def synthetic_noise(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """``(1, n)`` float32 unit-power noise of a random kind."""
    kind = int(rng.integers(4))
    if kind == 0:
        return colored(n, rng)
    if kind == 1:
        return hum(n, rate, rng)
    if kind == 2:
        return modulated(n, rate, rng)
    return bursts(n, rate, rng)
