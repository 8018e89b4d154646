"""Running a mask network on audio of any length with bounded memory.

The audio is cut by the shared chunking engine (:mod:`unweave.methods.chunking`: overlapping
chunks, cross-faded); each chunk's channels form one batch for the network.
"""

from __future__ import annotations

import numpy as np

from unweave.nn.features import STFT, full_mask, magnitude_features
from unweave.spectral import istft, stft


def vocals_of(model, audio: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Vocal estimate of ``audio`` ``(channels, samples)`` at the network's rate."""
    import torch

    spec = stft(audio.astype(np.float32), STFT)  # (C, 513, T)
    feats = magnitude_features(spec)
    frames = feats.shape[-1]
    multiple = getattr(model, "multiple", 1)
    pad = (-frames) % multiple
    feats = np.pad(feats, ((0, 0), (0, 0), (0, pad)))
    with torch.no_grad():
        mask = model(torch.from_numpy(feats).to(device)).cpu().numpy()[..., :frames]
    return istft(spec * full_mask(mask), STFT, audio.shape[-1]).astype(np.float32)
