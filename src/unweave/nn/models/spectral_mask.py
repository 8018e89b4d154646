"""What the U-Net and the DRNN share: a mask for one source on ``log1p`` STFT magnitudes, the
other source being the mixture minus it.

The network sees ``(batch, audio_channels, n_fft / 2, frames)`` features (the Nyquist bin is
left out and takes the mask of the bin below) and returns the first source's mask in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from unweave.nn.frontend import STFT
from unweave.nn.models.base import SeparationModel


class TwoSourceMask(SeparationModel):
    """Base of two-source mask networks: ``forward`` = STFT, :meth:`mask`, iSTFT, residual."""

    def __init__(self, sources: Sequence[str], sample_rate: int, audio_channels: int,
                 n_fft: int, hop: int):
        super().__init__(sources, sample_rate, audio_channels)
        if len(self.sources) != 2:
            raise ValueError(f"'{self.name}' separates two sources: a target and the rest")
        self.n_fft, self.hop = int(n_fft), int(hop)
        self.stft = STFT(n_fft, hop)
        self.bins = n_fft // 2

    @property
    def residual(self) -> str:
        return self.sources[1]

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """``(..., freqs, frames)`` complex -> ``(..., bins, frames)`` network input."""
        return torch.log1p(spec[..., : self.bins, :].abs())

    def mask(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def spectrogram(self, mixture: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> the sources' masked spectrograms ``(B, 2, C, freqs, frames)``
        (what mask networks are trained on: :class:`unweave.nn.train.loop.SpectrogramView`)."""
        spec = self.stft(mixture)  # (B, C, F, T)
        mask = self.mask(self.features(spec)).float()
        mask = torch.cat([mask, mask[..., -1:, :]], dim=-2)  # the Nyquist bin
        return torch.stack([spec * mask, spec * (1 - mask)], dim=1)

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        target = self.stft.inverse(self.spectrogram(mixture)[:, 0], mixture.shape[-1])
        return torch.stack([target, mixture - target], dim=1)
