"""What spectrogram mask networks share: STFT, a mask per source, inverse STFT.

:class:`MaskModel` takes ``(B, C, T)``, makes its STFT ``(B, C, F, frames)``, asks
:meth:`MaskModel.masks` for one mask per source ``(B, S, C, F, frames)`` and returns each
masked spectrogram's inverse STFT. :meth:`MaskModel.spectrogram` gives the masked spectrograms
themselves, what a multichannel Wiener filter refines (:mod:`unweave.nn.postfilter`), and
:meth:`MaskModel.magnitudes` their magnitudes, what these networks are trained on (the loop's
``magnitude`` domain).

:class:`TwoSourceMask` (the U-Net, the DRNN) predicts one source's mask on ``log1p``
magnitudes without the Nyquist bin (which takes the mask of the bin below); the other source is
the mixture minus the first.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from unweave.nn.frontend import STFT
from unweave.nn.models.base import SeparationModel


class MaskModel(SeparationModel):
    """Base of mask networks on a centred STFT of ``n_fft`` samples every ``hop``."""

    def __init__(self, sources: Sequence[str], sample_rate: int, audio_channels: int,
                 n_fft: int, hop: int):
        super().__init__(sources, sample_rate, audio_channels)
        self.n_fft, self.hop = int(n_fft), int(hop)
        self.stft = STFT(n_fft, hop)

    def masks(self, spec: torch.Tensor) -> torch.Tensor:
        """``(B, C, F, frames)`` complex -> ``(B, S, C, F, frames)`` real masks."""
        raise NotImplementedError

    def masks_for(self, mixture: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """The masks of ``spec``, the STFT of ``mixture`` ``(B, C, T)``: :meth:`masks` (a
        wrapper that also hears the waveform, :class:`unweave.nn.blend.Blended`, overrides
        it)."""
        return self.masks(spec)

    def spectrogram(self, mixture: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> the sources' masked spectrograms ``(B, S, C, F, frames)``."""
        spec = self.stft(mixture)
        return spec[:, None] * self.masks(spec).float()

    def magnitudes(self, mixture: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> the masked magnitudes ``(B, S, C, F, frames)`` (no complex
        arithmetic on the sources' spectrograms: the cheap thing to train on)."""
        spec = self.stft(mixture)
        return spec.abs()[:, None] * self.masks(spec).float()

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        return self.stft.inverse(self.spectrogram(mixture), mixture.shape[-1])


class TwoSourceMask(MaskModel):
    """Base of two-source mask networks: :meth:`mask` gives the first source's."""

    def __init__(self, sources: Sequence[str], sample_rate: int, audio_channels: int,
                 n_fft: int, hop: int):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if len(self.sources) != 2:
            raise ValueError(f"'{self.name}' separates two sources: a target and the rest")
        self.bins = n_fft // 2

    @property
    def residual(self) -> str:
        return self.sources[1]

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """``(..., freqs, frames)`` complex -> ``(..., bins, frames)`` network input."""
        return torch.log1p(spec[..., : self.bins, :].abs())

    def mask(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, C, bins, frames)`` -> the first source's mask, same shape, in [0, 1]."""
        raise NotImplementedError

    def masks(self, spec: torch.Tensor) -> torch.Tensor:
        mask = self.mask(self.features(spec)).float()
        mask = torch.cat([mask, mask[..., -1:, :]], dim=-2)  # the Nyquist bin
        return torch.stack([mask, 1 - mask], dim=1)

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        target = self.stft.inverse(self.spectrogram(mixture)[:, 0], mixture.shape[-1])
        return torch.stack([target, mixture - target], dim=1)
