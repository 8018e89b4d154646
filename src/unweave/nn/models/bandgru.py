"""Gains on ERB bands from a recurrent network, causal: the design of RNNoise (Valin, "A hybrid
DSP/deep learning approach to real-time full-band speech enhancement", MMSP 2018), with the
optional deep filter of DeepFilterNet (Schröter, Escalante-B., Rosenkranz & Maier, ICASSP 2022).

Per 10 ms frame (20 ms square-root Hann window): log energies in ``bands`` ERB-spaced triangular
bands, a dense layer, ``layers`` GRUs, and a sigmoid gain per band, interpolated to every bin
and applied to the mixture spectrum. With ``df_order`` N > 0, the bins below ``df_hz`` are
instead a complex filter of N taps over the current and past frames (coefficients from the same
GRUs), which can restore the harmonics that a gain per band cannot. Nothing looks ahead, so the
algorithmic latency is the window (20 ms at 16 kHz with the defaults).
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
                 df_order: int = 0, df_hz: float = 4000.0, n_fft: int = 320, hop: int = 160):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if hidden < 1 or layers < 1:
            raise ValueError(f"hidden and layers must be >= 1 (got {hidden}, {layers})")
        self.bands, self.hidden, self.layers = int(bands), int(hidden), int(layers)
        self.filterbank = BandFilterbank(self.stft.freqs, sample_rate, self.bands, "erb")
        self.inp = nn.Sequential(nn.Linear(self.bands, hidden), nn.Tanh())
        self.rnn = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, self.bands)
        if df_order < 0:
            raise ValueError(f"df_order must be >= 0 (got {df_order})")
        self.df_order, self.df_hz = int(df_order), float(df_hz)
        self.df_bins = min(self.stft.freqs, int(df_hz * n_fft / sample_rate) + 1) \
            if df_order else 0
        if df_order:
            self.df = nn.Linear(hidden, self.df_bins * df_order * 2)

    def init_hidden(self, n: int):
        hidden = torch.zeros(self.layers, n, self.hidden)
        if not self.df_order:
            return hidden
        return hidden, torch.zeros(n, self.df_bins, self.df_order - 1, dtype=torch.complex64)

    def core(self, spec: torch.Tensor, state):
        hidden, past = state if self.df_order else (state, None)
        energy = self.filterbank(spec.real**2 + spec.imag**2)  # (N, bands, frames)
        features = torch.log10(energy + 1e-10) / 4 + 1  # about -1..1 for speech levels
        h, hidden = self.rnn(self.inp(features.transpose(1, 2)), hidden)
        gains = torch.sigmoid(self.out(h)).transpose(1, 2)  # (N, bands, frames)
        target = spec * self.filterbank.expand(gains)
        if not self.df_order:
            return target, hidden
        n, k = spec.shape[0], spec.shape[-1]
        coef = self.df(h).reshape(n, k, self.df_bins, self.df_order, 2)
        coef = torch.complex(coef[..., 0], coef[..., 1]).permute(0, 2, 1, 3)  # (N, bins, k, N)
        history = torch.cat([past.to(spec.dtype), spec[:, : self.df_bins]], dim=-1)
        frames = history.unfold(-1, self.df_order, 1)  # (N, bins, k, order): oldest first
        low = (frames * coef).sum(-1)
        target = torch.cat([low, target[:, self.df_bins:]], dim=1)
        return target, (hidden, history[..., history.shape[-1] - (self.df_order - 1):])
