"""Time-frequency masks and Wiener filtering.

Source estimates are stacked on a leading axis: magnitudes ``(sources, ..., channels, freqs,
frames)``; the mixture STFT is ``(..., channels, freqs, frames)``.
"""

from __future__ import annotations

import numpy as np

from unweave.threads import PartPool, parts


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


def _power(y):
    """``|y|^2`` without the square root of ``abs`` (NumPy or torch)."""
    return y.real**2 + y.imag**2


def _spatial_covariances(estimates, psd, eps: float):
    """Each source's spatial covariance ``(..., S, F, C, C)``: ``sum_t y y^H / sum_t v``, from
    source images ``(..., S, C, F, T)`` and their power spectral densities ``(..., S, F, T)``
    (NumPy or torch)."""
    by_bin = estimates.swapaxes(-3, -2)  # (..., S, F, C, T)
    cov = by_bin @ by_bin.conj().swapaxes(-1, -2)
    return cov / (eps + psd.sum(axis=-1))[..., None, None]


def _solve(cov: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``cov^{-1} x`` per bin: ``cov`` ``(F, T, C, C)``, ``x`` ``(C, F, T)`` -> ``(C, F, T)``."""
    z = np.linalg.solve(cov, np.moveaxis(x, 0, -1)[..., None])[..., 0]
    return np.moveaxis(z, -1, 0)


def _filter(psd: np.ndarray, cov: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    """The sources' posterior means ``v_j R_j C_x^{-1} x`` ``(S, C, F, t)`` from their
    variances ``(S, F, t)``, spatial covariances ``(S, F, C, C)`` and the mixture
    ``(C, F, t)``; ``C_x = sum_j v_j R_j + eps I``."""
    if x.shape[0] <= 2:
        return _filter_closed_form(psd, cov, x, eps, np.stack)
    eye = (eps * np.eye(x.shape[0])).astype(x.dtype)
    mix_cov = np.einsum("sft,sfcd->ftcd", psd, cov) + eye
    z = _solve(mix_cov, x)
    return psd[:, None] * np.einsum("sfcd,dft->scft", cov, z)


def em_pass(y, x, eps: float, stack):
    """One EM pass of :func:`wiener` for one or two channels, whole planes at once, any leading
    batch axes, NumPy or torch (``stack``: ``np.stack`` or ``torch.stack``; differentiable in
    torch): source images ``y`` ``(..., S, C, F, T)`` and mixture ``x`` ``(..., C, F, T)`` ->
    the refined images ``(..., S, C, F, T)``."""
    psd = _power(y).mean(axis=-3)  # (..., S, F, T)
    return _filter_closed_form(psd, _spatial_covariances(y, psd, eps), x, eps, stack)


def _filter_closed_form(psd, cov, x, eps: float, stack):
    """:func:`_filter` for one or two channels in closed form on whole ``(F, t)`` planes, with
    any leading batch axes: ``psd`` ``(..., S, F, t)``, ``cov`` ``(..., S, F, C, C)``, ``x``
    ``(..., C, F, t)`` -> ``(..., S, C, F, t)``. NumPy or torch (``stack``: ``np.stack`` or
    ``torch.stack``)."""
    r00 = cov[..., 0, 0].real[..., None]  # (..., S, F, 1)
    a = (psd * r00).sum(axis=-3)[..., None, :, :] + eps  # C_x, (..., 1, F, t)
    if x.shape[-3] == 1:
        return psd[..., None, :, :] * r00[..., None, :, :] * (x / a)[..., None, :, :, :]
    r11 = cov[..., 1, 1].real[..., None]
    r01 = cov[..., 0, 1][..., None]  # R is Hermitian: R_10 = conj(R_01)
    a = a[..., 0, :, :]  # C_x = [[a, b], [conj(b), d]], (..., F, t)
    d = (psd * r11).sum(axis=-3) + eps
    b = (psd * r01).sum(axis=-3)
    det = a * d - _power(b)
    x0, x1 = x[..., 0, :, :], x[..., 1, :, :]
    z0 = ((d * x0 - b * x1) / det)[..., None, :, :]
    z1 = ((a * x1 - b.conj() * x0) / det)[..., None, :, :]
    return stack([psd * (r00 * z0 + r01 * z1), psd * (r01.conj() * z0 + r11 * z1)], axis=-3)


def wiener(
    estimates: np.ndarray,
    mixture: np.ndarray,
    iterations: int = 1,
    eps: float = 1e-10,
    block_frames: int = 256,
) -> np.ndarray:
    """Multichannel Wiener filter, refined by expectation-maximisation.

    The local Gaussian model of Duong, Vincent & Gribonval (2010), as in sigsep's ``norbert``
    (Nugraha, Liutkus & Vincent 2016; used by Open-Unmix): each source image is zero-mean
    Gaussian with covariance ``v_j(f, t) R_j(f)``. The model is fitted to ``estimates``
    (complex STFTs of first source-image estimates, ``(S, C, F, T)``), the sources are
    re-estimated as ``v_j R_j C_x^{-1} x``, and this repeats ``iterations`` times (each pass
    refits the model on the posterior means). The filtering runs ``block_frames`` frames at a
    time, so memory holds the sources' images and a block of covariances.

    Parameters
    ----------
    estimates : (S, C, F, T) complex or real magnitudes
        Initial source estimates. Real magnitudes are given the mixture's phase.
    mixture : (C, F, T) complex
        The mixture STFT.

    Returns
    -------
    (S, C, F, T) complex source image estimates (complex64 for a complex64 mixture); they sum
    to the mixture when ``C`` is full rank.
    """
    mixture = np.asarray(mixture)
    dtype = np.complex64 if mixture.dtype == np.complex64 else np.complex128
    real = np.float32 if dtype == np.complex64 else np.float64
    if not np.iscomplexobj(estimates):
        estimates = estimates * np.exp(1j * np.angle(mixture))
    scale = max(float(np.abs(mixture).max()), eps)
    x = np.asarray(mixture / scale, dtype=dtype)
    y = np.asarray(np.asarray(estimates) / scale, dtype=dtype)
    n_sources, n_channels, n_freqs, n_frames = y.shape
    psd = np.empty((n_sources, n_freqs, n_frames), real)  # (S, F, T)
    cov = np.empty((n_sources, n_freqs, n_channels, n_channels), dtype)  # (S, F, C, C)

    def fit(f: slice) -> None:  # the model of a band of bins (each bin on its own)
        psd[:, f] = np.mean(_power(y[:, :, f]), axis=1)
        cov[:, f] = _spatial_covariances(y[:, :, f], psd[:, f], eps)

    def refine(t: slice) -> None:  # a block of frames (each frame on its own)
        y[..., t] = _filter(psd[:, :, t], cov, x[..., t], eps)

    # Bins and frames are independent: fixed parts on threads (1.4x faster on 2 cores), the
    # same output whatever the number of threads.
    bands = PartPool(parts(n_freqs, 8))
    blocks = PartPool([slice(t0, t0 + block_frames) for t0 in range(0, n_frames, block_frames)])
    with bands, blocks:
        for _ in range(max(iterations, 1)):
            bands.map(fit)
            blocks.map(refine)
    y *= scale  # y is this function's own array
    return y.astype(np.result_type(mixture.dtype, np.complex64), copy=False)
