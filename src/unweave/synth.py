"""A small synthetic stereo song with known sources, for the demo and offline tests.

Nothing is downloaded or shipped: the same seed gives the same signals. Sources (each
``(2, samples)`` float32): ``voice`` (a vibrato melody with formant-like harmonics, panned to
the centre), ``keys`` (sustained chords, panned left), ``drums`` (kick, snare and hi-hat, panned
slightly right).
"""

from __future__ import annotations

import numpy as np
import scipy.signal


def _pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan: ``position`` -1 (left) .. 0 (centre) .. 1 (right)."""
    angle = (position + 1) * np.pi / 4
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono]) * np.sqrt(2)


def _tone(freq: np.ndarray, sr: int, n_harmonics: int, tilt: float) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return sum((tilt**h) * np.sin((h + 1) * phase) for h in range(n_harmonics))


def synth_song(sample_rate: int = 22050, seconds: float = 8.0, seed: int = 0
               ) -> dict[str, np.ndarray]:
    """Sources of a short synthetic song: ``{"voice", "keys", "drums"}`` -> ``(2, samples)``."""
    rng = np.random.default_rng(seed)
    n = int(sample_rate * seconds)
    t = np.arange(n) / sample_rate
    beat = 0.5  # seconds: 120 bpm

    # Voice: one note per beat from a pentatonic scale, with vibrato and a smooth envelope.
    scale = 220 * 2 ** (np.array([0, 2, 4, 7, 9, 12]) / 12)
    notes = rng.choice(scale, size=int(np.ceil(seconds / beat)))
    f0 = notes[np.minimum((t / beat).astype(int), len(notes) - 1)]
    f0 = scipy.signal.lfilter([0.01], [1, -0.99], f0 - f0[0]) + f0[0]  # glide between notes
    f0 = f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    env = 0.5 - 0.5 * np.cos(2 * np.pi * np.mod(t, beat) / beat)
    voice = _tone(f0, sample_rate, 12, 0.7) * env
    b, a = scipy.signal.butter(2, [500, 3000], btype="band", fs=sample_rate)
    voice = 0.6 * voice + scipy.signal.lfilter(b, a, voice)

    # Keys: sustained triads changing every two bars.
    keys = np.zeros(n)
    chords = [[110, 138.6, 164.8], [98, 123.5, 146.8], [130.8, 164.8, 196], [87.3, 110, 130.8]]
    bar = 4 * beat
    for i, start in enumerate(np.arange(0, seconds, 2 * bar)):
        sl = slice(int(start * sample_rate), min(n, int((start + 2 * bar) * sample_rate)))
        tt = t[sl] - start
        decay = np.exp(-tt / 3.0)
        for f in chords[i % len(chords)]:
            keys[sl] += _tone(np.full(tt.size, f), sample_rate, 6, 0.5) * decay

    # Drums: kick on beats 1 and 3, snare on 2 and 4, hi-hat on every eighth.
    drums = np.zeros(n)
    for k, start in enumerate(np.arange(0, seconds, beat / 2)):
        i0 = int(start * sample_rate)
        m = min(n - i0, int(0.25 * sample_rate))
        tt = np.arange(m) / sample_rate
        if k % 4 == 0:
            sweep = 2 * np.pi * np.cumsum(45 + 90 * np.exp(-tt / 0.03)) / sample_rate
            drums[i0 : i0 + m] += 1.2 * np.sin(sweep) * np.exp(-tt / 0.12)
        elif k % 4 == 2:
            drums[i0 : i0 + m] += 0.6 * rng.standard_normal(m) * np.exp(-tt / 0.06)
        hh = rng.standard_normal(m) * np.exp(-tt / 0.015)
        drums[i0 : i0 + m] += 0.25 * scipy.signal.lfilter([1, -1], [1], hh)

    sources = {"voice": _pan(voice, 0.0), "keys": _pan(keys, -0.6), "drums": _pan(drums, 0.3)}
    peak = max(np.abs(sum(sources.values())).max(), 1e-9)
    return {k: (0.8 * v / peak).astype(np.float32) for k, v in sources.items()}
