"""Open-Unmix with one trunk for all targets: Stöter, Uhlich, Liutkus & Mitsufuji,
"Open-Unmix - A reference implementation for music source separation", JOSS 4(41), 2019.

Per STFT frame (4096/1024 at 44.1 kHz by default): ``log1p`` magnitudes of every channel up to
``bandwidth`` Hz, a learned per-bin offset and scale, a dense layer with batch norm and tanh,
``layers`` bidirectional LSTMs with a skip connection around them; then, for each source, two
dense layers with batch norm giving a sigmoid mask per channel for every bin up to
``bandwidth`` and one for the band above it. Open-Unmix trains one such network per target
(its trunk has 512 units); sharing the trunk, and masks instead of magnitudes, keep four
targets within a CPU budget. A multichannel Wiener filter refines the masked spectrograms at
inference (:mod:`unweave.nn.postfilter`), as Open-Unmix does with ``norbert``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from unweave.nn.models.base import register_model
from unweave.nn.models.spectral_mask import MaskModel


@register_model
class OpenUnmix(MaskModel):
    name = "umx"
    summary = "Open-Unmix: BLSTM masks on magnitude spectrograms, one trunk for all targets"

    def __init__(self, sources: Sequence[str] = ("vocals", "drums", "bass", "other"),
                 sample_rate: int = 44100, audio_channels: int = 2, hidden: int = 192,
                 layers: int = 3, bandwidth: float = 16000.0, dropout: float = 0.3,
                 n_fft: int = 4096, hop: int = 1024):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if hidden < 2 or hidden % 2 or layers < 1:
            raise ValueError(f"need an even hidden >= 2 and layers >= 1 (got {hidden}, "
                             f"{layers})")
        self.hidden, self.layers = int(hidden), int(layers)
        self.bandwidth, self.dropout = float(bandwidth), float(dropout)
        freqs = n_fft // 2 + 1
        self.max_bin = min(freqs, max(1, int(bandwidth * n_fft / sample_rate) + 1))
        c, s = audio_channels, len(self.sources)
        self.input_mean = nn.Parameter(torch.zeros(self.max_bin))
        self.input_scale = nn.Parameter(torch.ones(self.max_bin))
        self.fc1 = nn.Linear(c * self.max_bin, hidden, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.lstm = nn.LSTM(hidden, hidden // 2, num_layers=layers, bidirectional=True,
                            batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.fc2 = nn.Linear(2 * hidden, s * hidden, bias=False)
        self.bn2 = nn.BatchNorm1d(s * hidden)
        self.out_size = c * (self.max_bin + 1)  # every bin up to max_bin, and the band above
        self.fc3 = nn.Parameter(torch.randn(s, hidden, self.out_size) / hidden**0.5)
        self.bn3 = nn.BatchNorm1d(s * self.out_size)

    def masks(self, spec: torch.Tensor) -> torch.Tensor:
        b, c, f, t = spec.shape
        s, h = len(self.sources), self.hidden
        x = torch.log1p(spec[..., : self.max_bin, :].abs())  # (B, C, bins, T)
        x = (x + self.input_mean[:, None]) * self.input_scale[:, None]
        x = x.permute(0, 3, 1, 2).reshape(b * t, c * self.max_bin)
        x = torch.tanh(self.bn1(self.fc1(x)))  # (B*T, H)
        y, _ = self.lstm(x.reshape(b, t, h))
        x = torch.cat([x, y.reshape(b * t, h)], dim=-1)  # skip connection
        x = torch.relu(self.bn2(self.fc2(x))).reshape(b * t, s, h)
        x = torch.einsum("nsh,sho->nso", x, self.fc3).reshape(b * t, s * self.out_size)
        m = torch.sigmoid(self.bn3(x)).reshape(b, t, s, c, self.max_bin + 1)
        low, high = m[..., : self.max_bin], m[..., self.max_bin:]
        full = torch.cat([low, high.expand(*high.shape[:-1], f - self.max_bin)], dim=-1)
        return full.permute(0, 2, 3, 4, 1)  # (B, S, C, F, T)
