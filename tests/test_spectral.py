import numpy as np
import pytest

from unweave.errors import UnweaveError
from unweave.spectral import STFTConfig, istft, stft

CONFIGS = [STFTConfig(), STFTConfig(1024, 256), STFTConfig(1000, 300), STFTConfig(512, 256),
           STFTConfig(256, 64, "hamming")]


@pytest.mark.parametrize("length", [1, 7, 255, 256, 257, 2047, 2048, 2049, 22050])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.n_fft}/{c.hop}/{c.window}")
def test_perfect_reconstruction_any_length(length, config):
    x = np.random.default_rng(length).standard_normal((2, length))
    spec = stft(x, config)
    assert spec.shape == (2, config.n_fft // 2 + 1, config.n_frames(length))
    y = istft(spec, config, length=length)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1e-10)


def test_layout_broadcasts_leading_axes_and_keeps_precision():
    x = np.random.default_rng(0).standard_normal((3, 2, 5000)).astype(np.float32)
    spec = stft(x)
    assert spec.dtype == np.complex64 and spec.shape[:2] == (3, 2)
    y = istft(spec, length=5000)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-5)
    np.testing.assert_allclose(stft(x[1, 0]), spec[1, 0], rtol=1e-5, atol=1e-5)


def test_matches_librosa_centered_stft():
    librosa = pytest.importorskip("librosa")
    x = np.random.default_rng(1).standard_normal(10000)
    ours = stft(x)
    ref = librosa.stft(x, n_fft=2048, hop_length=512, pad_mode="constant")
    n = min(ours.shape[-1], ref.shape[-1])
    np.testing.assert_allclose(ours[:, :n], ref[:, :n], atol=1e-8)


def test_bad_configs_are_refused():
    with pytest.raises(UnweaveError):
        STFTConfig(512, 1024)
    with pytest.raises(UnweaveError):
        STFTConfig(512, 0)
    with pytest.raises(UnweaveError):
        istft(np.zeros((10, 4), complex), STFTConfig(512, 128))
