"""U-Net on magnitude spectrograms: Jansson, Humphrey, Montecchio, Bittner, Kumar & Weyde,
"Singing voice separation with deep U-Net convolutional networks", ISMIR 2017.

Strided 5x5 convolutions down, transposed convolutions up with skip connections, a sigmoid mask
for the first source; the second is the mixture minus the first. ``channels`` sets the width
and depth (Jansson et al. use 16..512 over six levels; the bundled model has 16..128 over
four). Input features: ``log1p`` magnitudes of a 1024/256 STFT without the Nyquist bin, which
takes the mask of the bin below.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from unweave.nn.models.base import register_model
from unweave.nn.models.spectral_mask import TwoSourceMask


@register_model
class UNet(TwoSourceMask):
    name = "unet"
    summary = "U-Net mask on magnitude spectrograms (Jansson et al. 2017)"

    def __init__(self, sources: Sequence[str] = ("vocals", "accompaniment"),
                 sample_rate: int = 16000, audio_channels: int = 1,
                 channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.5,
                 n_fft: int = 1024, hop: int = 256):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be positive widths; got {channels}")
        self.channels, self.dropout = tuple(int(c) for c in channels), float(dropout)
        self.down = nn.ModuleList()
        c_in = audio_channels
        for c in self.channels:
            self.down.append(nn.Sequential(nn.Conv2d(c_in, c, 5, stride=2, padding=2),
                                           nn.BatchNorm2d(c), nn.LeakyReLU(0.2)))
            c_in = c
        self.up = nn.ModuleList()
        rev = list(reversed(self.channels))
        for i, c in enumerate(rev):
            c_out = rev[i + 1] if i + 1 < len(rev) else audio_channels
            c_total = c if i == 0 else 2 * c
            layers: list[nn.Module] = [nn.ConvTranspose2d(c_total, c_out, 5, stride=2,
                                                          padding=2, output_padding=1)]
            if i + 1 < len(rev):
                layers += [nn.BatchNorm2d(c_out), nn.ReLU()]
                if i < 2 and dropout > 0:
                    layers.append(nn.Dropout2d(dropout))
            self.up.append(nn.Sequential(*layers))

    @property
    def multiple(self) -> int:
        """Frames (and bins) are padded to a multiple of this."""
        return 2 ** len(self.channels)

    def mask(self, features: torch.Tensor) -> torch.Tensor:
        """``(batch, audio_channels, bins, frames)`` log magnitudes -> the first source's mask,
        same shape, in [0, 1]."""
        frames = features.shape[-1]
        h = F.pad(features, (0, (-frames) % self.multiple))
        skips = []
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        skips.pop()
        for i, layer in enumerate(self.up):
            if i > 0:
                h = torch.cat([h, skips.pop()], dim=1)
            h = layer(h)
        return torch.sigmoid(h[..., :frames])
