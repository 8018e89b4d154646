"""Time-frequency masks and Wiener filtering.

Source estimates are stacked on a leading axis: magnitudes ``(sources, ..., channels, freqs,
frames)``; the mixture STFT is ``(..., channels, freqs, frames)``.
"""

from __future__ import annotations

import numpy as np


def soft_mask(target: np.ndarray, other: np.ndarray, power: float = 2.0) -> np.ndarray:
    """``target**p / (target**p + other**p)``, 0 where both are zero (as librosa's softmask).

    Computed relative to ``max(target, other)`` so large powers cannot overflow.
    """
    scale = np.maximum(target, other)
    zero = scale < np.finfo(scale.dtype).tiny
    scale = np.where(zero, 1, scale)
    t = (target / scale) ** power
    o = (other / scale) ** power
    return np.where(zero, 0, t / np.where(zero, 1, t + o))


def ratio_masks(magnitudes: np.ndarray, power: float = 2.0, eps: float = 1e-12) -> np.ndarray:
    """Masks ``|S_j|**p / sum_k |S_k|**p`` over the leading source axis; they sum to one.

    Where every estimate is zero the mask is split evenly, so the mixture is kept whole.
    """
    mags = np.asarray(magnitudes)
    peak = mags.max(axis=0, keepdims=True)
    scaled = (mags / np.maximum(peak, eps)) ** power
    total = scaled.sum(axis=0, keepdims=True)
    even = np.full_like(scaled, 1.0 / mags.shape[0])
    return np.where(total > 0, scaled / np.where(total > 0, total, 1), even)


def binary_masks(magnitudes: np.ndarray) -> np.ndarray:
    """One-hot masks: 1 for the source with the largest magnitude in each bin."""
    mags = np.asarray(magnitudes)
    winner = np.argmax(mags, axis=0)
    return (np.arange(mags.shape[0]).reshape((-1,) + (1,) * winner.ndim) == winner).astype(
        mags.dtype if np.issubdtype(mags.dtype, np.floating) else np.float32
    )


def _spatial_model(estimates: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral densities ``(S, F, T)`` and spatial covariances ``(S, F, C, C)``.

    ``estimates`` is ``(S, C, F, T)`` complex: the current source images.
    """
    psd = np.mean(np.abs(estimates) ** 2, axis=1)
    cov = np.einsum("scft,sdft->sfcd", estimates, estimates.conj())
    cov /= eps + psd.sum(axis=-1)[..., None, None]
    return psd, cov


def wiener(
    estimates: np.ndarray,
    mixture: np.ndarray,
    iterations: int = 1,
    eps: float = 1e-10,
) -> np.ndarray:
    """Multichannel Wiener filter, refined by expectation-maximisation.

    The local Gaussian model of Duong, Vincent & Gribonval (2010), as in sigsep's ``norbert``:
    each source image is zero-mean Gaussian with covariance ``v_j(f, t) R_j(f)``. The model is
    fitted to ``estimates`` (complex STFTs of first source-image estimates, ``(S, C, F, T)``),
    the sources are re-estimated as ``v_j R_j C_x^{-1} x``, and this repeats ``iterations``
    times (each pass refits the model on the posterior means).

    Parameters
    ----------
    estimates : (S, C, F, T) complex or real magnitudes
        Initial source estimates. Real magnitudes are given the mixture's phase.
    mixture : (C, F, T) complex
        The mixture STFT.

    Returns
    -------
    (S, C, F, T) complex source image estimates; they sum to the mixture when ``C`` is full rank.
    """
    mixture = np.asarray(mixture)
    dtype = np.complex128
    if not np.iscomplexobj(estimates):
        estimates = estimates * np.exp(1j * np.angle(mixture))
    scale = max(np.abs(mixture).max(), eps)
    x = (mixture / scale).astype(dtype)
    y = (np.asarray(estimates) / scale).astype(dtype)
    n_chan = x.shape[0]
    eye = np.eye(n_chan, dtype=dtype)
    for _ in range(max(iterations, 1)):
        psd, cov = _spatial_model(y, eps)
        # Mixture covariance per bin, (F, T, C, C), and each source's share of it.
        src_cov = psd[..., None, None] * cov[:, :, None]  # (S, F, T, C, C)
        mix_cov = src_cov.sum(axis=0) + eps * eye
        inv = np.linalg.inv(mix_cov)
        gains = src_cov @ inv  # (S, F, T, C, C)
        y = np.einsum("sftcd,dft->scft", gains, x)
    return (y * scale).astype(np.result_type(mixture.dtype, np.complex64))
