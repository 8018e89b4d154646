"""The fixed front end every unweave network uses: 16 kHz mono, STFT 1024/256, 512 bins.

Networks see ``log1p`` magnitudes ``(batch, 512, frames)`` (the Nyquist bin is left out and
gets the mask of the bin below it) and predict a vocal mask of the same shape.
"""

from __future__ import annotations

import numpy as np

from unweave.spectral import STFTConfig

SAMPLE_RATE = 16000
STFT = STFTConfig(1024, 256)
N_BINS = 512


def magnitude_features(spec: np.ndarray) -> np.ndarray:
    """``(..., 513, frames)`` complex -> ``(..., 512, frames)`` float32 network input."""
    return np.log1p(np.abs(spec[..., :N_BINS, :])).astype(np.float32)


def full_mask(mask: np.ndarray) -> np.ndarray:
    """``(..., 512, frames)`` -> ``(..., 513, frames)``: the Nyquist bin copies the bin below."""
    return np.concatenate([mask, mask[..., -1:, :]], axis=-2)
