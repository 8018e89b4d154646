import numpy as np

from unweave.masking import binary_masks, ratio_masks, soft_mask, wiener
from unweave.spectral import istft, stft


def test_ratio_masks_sum_to_one_even_where_all_are_zero():
    mags = np.random.default_rng(0).random((3, 2, 10, 8))
    mags[:, :, 0, 0] = 0
    masks = ratio_masks(mags)
    np.testing.assert_allclose(masks.sum(axis=0), 1.0)
    np.testing.assert_allclose(masks[:, 0, 0, 0], 1 / 3)


def test_binary_masks_are_one_hot_on_the_loudest_source():
    mags = np.random.default_rng(1).random((4, 1, 6, 5))
    masks = binary_masks(mags)
    np.testing.assert_array_equal(masks.sum(axis=0), 1)
    np.testing.assert_array_equal(np.argmax(masks, axis=0), np.argmax(mags, axis=0))


def test_soft_mask_matches_librosa():
    import pytest

    librosa = pytest.importorskip("librosa")
    a, b = np.random.default_rng(2).random((2, 20, 30))
    a[0, 0] = b[0, 0] = 0
    np.testing.assert_allclose(soft_mask(a, 2 * b, 2.0), librosa.util.softmask(a, 2 * b, power=2))


def test_wiener_with_true_sources_recovers_spatially_distinct_sources():
    rng = np.random.default_rng(3)
    n = 16000
    s1, s2 = rng.standard_normal((2, n))
    img1 = np.stack([s1, 0.2 * s1])  # panned left
    img2 = np.stack([0.3 * s2, s2])  # panned right
    mix = stft(img1 + img2)
    est = wiener(stft(np.stack([img1, img2])), mix, iterations=1)
    np.testing.assert_allclose(est.sum(axis=0), mix, atol=1e-6 * np.abs(mix).max())
    err = istft(est[0], length=n) - img1
    assert 10 * np.log10(np.sum(img1**2) / np.sum(err**2)) > 30
