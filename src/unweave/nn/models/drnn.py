"""Deep recurrent network with a joint mask layer: Huang, Kim, Hasegawa-Johnson & Smaragdis,
"Joint optimization of masks and deep recurrent neural networks for monaural source
separation", IEEE/ACM TASLP 23(12), 2015 (and ISMIR 2014 for singing voice).

A recurrent network over the frames of ``log1p`` magnitudes estimates two non-negative source
spectra ``y1, y2``; the joint mask layer ``y1 / (y1 + y2)`` makes the two masks sum to one, so
the second source is the mixture minus the first. The recurrence runs forward in time only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from unweave.nn.models.base import register_model
from unweave.nn.models.spectral_mask import TwoSourceMask


@register_model
class DRNN(TwoSourceMask):
    name = "drnn"
    summary = "recurrent network with a joint mask layer (Huang et al. 2014/2015)"

    def __init__(self, sources: Sequence[str] = ("vocals", "accompaniment"),
                 sample_rate: int = 16000, audio_channels: int = 1, hidden: int = 256,
                 layers: int = 2, n_fft: int = 1024, hop: int = 256):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if hidden < 1 or layers < 1:
            raise ValueError(f"hidden and layers must be >= 1 (got {hidden}, {layers})")
        self.hidden, self.layers = int(hidden), int(layers)
        self.rnn = nn.GRU(self.bins * audio_channels, hidden, num_layers=layers,
                          batch_first=True)
        self.out = nn.Linear(hidden, 2 * self.bins * audio_channels)

    def mask(self, features: torch.Tensor) -> torch.Tensor:
        """``(batch, audio_channels, bins, frames)`` -> the first source's joint mask."""
        b, c, f, t = features.shape
        h, _ = self.rnn(features.reshape(b, c * f, t).transpose(1, 2))  # (B, T, hidden)
        y = torch.relu(self.out(h))  # two non-negative source estimates
        y1, y2 = y[..., : c * f], y[..., c * f:]
        mask = y1 / (y1 + y2 + 1e-8)  # the joint mask layer
        return mask.transpose(1, 2).reshape(b, c, f, t)
