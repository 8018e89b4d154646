"""Gains on ERB bands from a recurrent network, causal: the design of RNNoise (Valin, "A hybrid
DSP/deep learning approach to real-time full-band speech enhancement", MMSP 2018).

Per 10 ms frame (20 ms square-root Hann window): log energies in ``bands`` ERB-spaced triangular
bands, a dense layer, ``layers`` GRUs, and a sigmoid gain per band, interpolated to every bin
and applied to the mixture spectrum. Nothing looks ahead, so the algorithmic latency is the
window (20 ms at 16 kHz with the defaults).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from unweave.nn.frontend import BandFilterbank
from unweave.nn.models.base import register_model
from unweave.nn.models.causal_mask import CausalMask


@register_model
class BandGRU(CausalMask):
    name = "bandgru"
    summary = "causal gains on ERB bands from GRUs (RNNoise-style, Valin 2018)"

    def __init__(self, sources: Sequence[str] = ("speech", "noise"), sample_rate: int = 16000,
                 audio_channels: int = 1, bands: int = 32, hidden: int = 96, layers: int = 2,
                 n_fft: int = 320, hop: int = 160):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if hidden < 1 or layers < 1:
            raise ValueError(f"hidden and layers must be >= 1 (got {hidden}, {layers})")
        self.bands, self.hidden, self.layers = int(bands), int(hidden), int(layers)
        self.filterbank = BandFilterbank(self.stft.freqs, sample_rate, self.bands, "erb")
        self.inp = nn.Sequential(nn.Linear(self.bands, hidden), nn.Tanh())
        self.rnn = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, self.bands)

    def init_hidden(self, n: int) -> torch.Tensor:
        return torch.zeros(self.layers, n, self.hidden)

    def core(self, spec: torch.Tensor, hidden: torch.Tensor):
        energy = self.filterbank(spec.real**2 + spec.imag**2)  # (N, bands, frames)
        features = torch.log10(energy + 1e-10) / 4 + 1  # about -1..1 for speech levels
        h, hidden = self.rnn(self.inp(features.transpose(1, 2)), hidden)
        gains = torch.sigmoid(self.out(h)).transpose(1, 2)  # (N, bands, frames)
        return self.filterbank.expand(gains), hidden
