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
    """``cell="gru"``: stacked GRUs (the default, our variant). ``cell="relu"``: the paper's
    DRNN-k, ``layers`` hidden layers of ReLU units with a recurrent connection at layer
    ``recurrent`` only (1-based). ``context``: neighbouring frames on each side stacked into
    the input, as the paper's features. ``joint_mask=False``: the first output is the
    target's magnitude itself (the mask is that over the mixture's, clipped to [0, 1]), the
    paper's network without the mask layer."""

    name = "drnn"
    summary = "recurrent network with a joint mask layer (Huang et al. 2014/2015)"

    def __init__(self, sources: Sequence[str] = ("vocals", "accompaniment"),
                 sample_rate: int = 16000, audio_channels: int = 1, hidden: int = 256,
                 layers: int = 2, n_fft: int = 1024, hop: int = 256, context: int = 0,
                 cell: str = "gru", recurrent: int = 2, joint_mask: bool = True):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if hidden < 1 or layers < 1 or context < 0:
            raise ValueError(f"hidden and layers must be >= 1 and context >= 0 (got {hidden}, "
                             f"{layers}, {context})")
        if cell not in ("gru", "relu") or (cell == "relu" and not 1 <= recurrent <= layers):
            raise ValueError("cell is 'gru' or 'relu'; with 'relu', 1 <= recurrent <= layers")
        self.hidden, self.layers, self.context = int(hidden), int(layers), int(context)
        self.cell, self.recurrent, self.joint_mask = cell, int(recurrent), bool(joint_mask)
        width = self.bins * audio_channels * (2 * context + 1)
        if cell == "gru":
            self.rnn = nn.GRU(width, hidden, num_layers=layers, batch_first=True)
        else:
            self.stack = nn.ModuleList(
                nn.RNN(width if i == 0 else hidden, hidden, nonlinearity="relu",
                       batch_first=True) if i + 1 == recurrent else
                nn.Linear(width if i == 0 else hidden, hidden) for i in range(layers))
        self.out = nn.Linear(hidden, 2 * self.bins * audio_channels)

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        if self.cell == "gru":
            return self.rnn(x)[0]
        for layer in self.stack:
            x = layer(x)[0] if isinstance(layer, nn.RNN) else torch.relu(layer(x))
        return x

    def mask(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C, bins, frames)`` -> the first source's mask, same shape, in [0, 1]."""
        b, c, f, t = features.shape
        x = features.reshape(b, c * f, t)
        if self.context:  # frames t-k..t+k side by side (edges repeated)
            padded = torch.nn.functional.pad(x, (self.context, self.context), mode="replicate")
            x = torch.cat([padded[..., i : i + t] for i in range(2 * self.context + 1)], 1)
        y = torch.relu(self.out(self._hidden(x.transpose(1, 2))))  # (B, T, 2 C F), >= 0
        y1, y2 = y[..., : c * f], y[..., c * f:]
        if self.joint_mask:
            mask = y1 / (y1 + y2 + 1e-8)  # the joint mask layer
        else:
            # The first output is the target's magnitude. Clamped to [0, 1] as a mask only
            # outside training: a clamp while training stops the gradient wherever the output
            # overshoots, and the network can stall there with every mask at one.
            magnitude = torch.expm1(features).reshape(b, c * f, t).transpose(1, 2)
            mask = y1 / (magnitude + 1e-8)
            if not self.training:
                mask = torch.clamp(mask, 0.0, 1.0)
        return mask.transpose(1, 2).reshape(b, c, f, t)
