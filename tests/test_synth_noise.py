"""Procedural noise for enhancement training: unit power, deterministic per seed, each kind
as described (a hum is harmonic, bursts are impulsive, a modulated noise varies in level), and
training examples that use it still sum to their mixture at the asked SNR."""

import numpy as np
import pytest

from unweave.data import synth_noise
from unweave.data.datasets import SpeechNoiseExamples

RATE = 16000


@pytest.mark.parametrize("seed", range(8))
def test_synthetic_noise_is_unit_power_and_seeded(seed):
    a = synth_noise.synthetic_noise(RATE, RATE, np.random.default_rng(seed))
    b = synth_noise.synthetic_noise(RATE, RATE, np.random.default_rng(seed))
    assert a.shape == (1, RATE) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.mean(a.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-3)
    assert np.all(np.isfinite(a))


def test_each_kind_has_its_character():
    rng = np.random.default_rng(3)
    hum = synth_noise.hum(RATE, RATE, rng)[0]
    spectrum = np.abs(np.fft.rfft(hum))
    assert spectrum.max() > 30 * np.median(spectrum)  # a few strong partials
    bursts = synth_noise.bursts(RATE, RATE, np.random.default_rng(4))[0]
    kurtosis = np.mean(bursts**4) / np.mean(bursts**2) ** 2
    assert kurtosis > 6  # impulsive (Gaussian noise: 3)
    frames = synth_noise.modulated(RATE, RATE, np.random.default_rng(5))[0].reshape(20, -1)
    levels = 10 * np.log10(np.mean(frames**2, axis=1))
    assert levels.max() - levels.min() > 2
    env = synth_noise.random_envelope(257, np.random.default_rng(6), range_db=30)
    assert env.shape == (257,) and np.all(env > 0)


def test_examples_with_synthetic_noise_sum_to_the_mixture(tmp_path):
    import soundfile as sf

    from unweave.data.index import index_recordings

    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    (tmp_path / "speech" / "spk0").mkdir(parents=True)
    (tmp_path / "noise").mkdir()
    sf.write(tmp_path / "speech" / "spk0" / "a.wav", 0.3 * np.sin(2 * np.pi * 200 * t), RATE)
    sf.write(tmp_path / "noise" / "n.wav", 0.1 * rng.standard_normal(RATE), RATE)
    speech = index_recordings([tmp_path / "speech"])
    noise = index_recordings([tmp_path / "noise"])
    examples = SpeechNoiseExamples(speech, noise, RATE, RATE, seed=2, snr_db=(5.0, 5.0),
                                   band_limit_p=0, clip_p=0, reverb_p=0, two_noises_p=0,
                                   synthetic_p=1.0, eq_p=1.0)
    mixture, (clean, rest) = examples[0]
    np.testing.assert_allclose(clean + rest, mixture, atol=1e-6)
    snr = 10 * np.log10(np.mean(clean**2) / np.mean(rest**2))
    assert snr == pytest.approx(5.0, abs=0.01)
    again = SpeechNoiseExamples(speech, noise, RATE, RATE, seed=2, snr_db=(5.0, 5.0),
                                band_limit_p=0, clip_p=0, reverb_p=0, two_noises_p=0,
                                synthetic_p=1.0, eq_p=1.0)[0][0]
    np.testing.assert_array_equal(mixture, again)
    slow = SpeechNoiseExamples(speech, noise, RATE, RATE, seed=2, noise_speed=0.3)[1][0]
    assert slow.shape == (1, RATE) and np.all(np.isfinite(slow))
