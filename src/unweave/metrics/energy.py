"""Energy-ratio SDR: the image SDR of BSS Eval v4, which needs no distortion filters.

``sdr = 10 log10(sum s^2 / sum (s_hat - s)^2)`` over all channels of a source image. museval's
v4 SDR is exactly this per 1 s window; its median over windows is the per-track number SiSEC
reports.
"""

from __future__ import annotations

import numpy as np


def sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """SDR in dB of ``estimate`` against ``reference``, both ``(..., channels, samples)``.

    Returns ``(...)``: one value per leading index (source). Float64 inside.
    """
    ref = np.asarray(reference, np.float64)
    err = np.asarray(estimate, np.float64) - ref
    num = np.sum(ref**2, axis=(-2, -1))
    den = np.sum(err**2, axis=(-2, -1))
    return 10 * np.log10((num + eps) / (den + eps))


def framewise_sdr(reference: np.ndarray, estimate: np.ndarray, window: int, hop: int | None = None,
                  eps: float = 1e-12) -> np.ndarray:
    """SDR per window: ``(..., channels, samples)`` -> ``(..., windows)``.

    Windows of ``window`` samples every ``hop`` (default: ``window``); a trailing partial
    window is dropped (as museval). Windows where the reference is silent give NaN.
    """
    hop = hop or window
    ref = np.asarray(reference, np.float64)
    est = np.asarray(estimate, np.float64)
    n = ref.shape[-1]
    n_win = max(1, (n - window) // hop + 1) if n >= window else 1
    out = np.empty(ref.shape[:-2] + (n_win,))
    for w in range(n_win):
        sl = slice(w * hop, w * hop + window)
        num = np.sum(ref[..., sl] ** 2, axis=(-2, -1))
        den = np.sum((est[..., sl] - ref[..., sl]) ** 2, axis=(-2, -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            val = 10 * np.log10((num + eps) / (den + eps))
        out[..., w] = np.where(num > 0, val, np.nan)
    return out
