"""U-Nets on magnitude spectrograms: Jansson, Humphrey, Montecchio, Bittner, Kumar & Weyde,
"Singing voice separation with deep U-Net convolutional networks", ISMIR 2017.

Strided 5x5 convolutions down, transposed convolutions up with skip connections, sigmoid masks.
``channels`` sets the width and depth (Jansson et al. use 16..512 over six levels).

- ``unet``: one source's mask on ``log1p`` magnitudes of a 1024/256 STFT without the Nyquist
  bin (which takes the mask of the bin below); the second source is the mixture minus the first.
  The bundled model has 16..128 over four levels.
- ``mtunet``: one network for several sources (as Spleeter's four-stem models, Hennequin et al.
  2020, but one trunk), a mask per source and channel for the bins up to ``bandwidth``; the band
  above takes, per source and frame, the mean mask of the top eighth of the bins below.
  ``members`` > 1 holds several trunks trained on their own and averages their sigmoid masks
  (an ensemble, Lakshminarayanan et al. 2017; ``unweave ensemble`` joins checkpoints): one STFT
  and one inverse for all of them, so each member adds only its trunk's cost.
  ``source_members`` takes each source's mask from one member instead (-1: the mean): members
  fine-tuned for one source each (``unweave train stems --scored vocals``), as Open-Unmix
  trains a network per target.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from unweave.nn.models.base import register_model
from unweave.nn.models.spectral_mask import MaskModel, TwoSourceMask


class Trunk(nn.Module):
    """Down: strided 5x5 convolutions with batch norm and leaky ReLU; up: transposed
    convolutions with batch norm, ReLU and dropout on the two deepest, skip connections.
    ``(B, c_in, F, T)`` -> ``(B, c_out, F, T)`` logits (F and T padded to a multiple)."""

    def __init__(self, c_in: int, c_out: int, channels: tuple[int, ...], dropout: float):
        super().__init__()
        self.down = nn.ModuleList()
        for c in channels:
            self.down.append(nn.Sequential(nn.Conv2d(c_in, c, 5, stride=2, padding=2),
                                           nn.BatchNorm2d(c), nn.LeakyReLU(0.2)))
            c_in = c
        self.up = nn.ModuleList()
        rev = list(reversed(channels))
        for i, c in enumerate(rev):
            last = i + 1 == len(rev)
            nxt = c_out if last else rev[i + 1]
            layers: list[nn.Module] = [nn.ConvTranspose2d(c if i == 0 else 2 * c, nxt, 5,
                                                          stride=2, padding=2,
                                                          output_padding=1)]
            if not last:
                layers += [nn.BatchNorm2d(nxt), nn.ReLU()]
                if i < 2 and dropout > 0:
                    layers.append(nn.Dropout2d(dropout))
            self.up.append(nn.Sequential(*layers))
        self.multiple = 2 ** len(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        h = F.pad(x, (0, (-frames) % self.multiple))
        skips = []
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        skips.pop()
        for i, layer in enumerate(self.up):
            if i > 0:
                h = torch.cat([h, skips.pop()], dim=1)
            h = layer(h)
        return h[..., :frames]


def _widths(channels) -> tuple[int, ...]:
    if not channels or min(channels) < 1:
        raise ValueError(f"channels must be positive widths; got {channels}")
    return tuple(int(c) for c in channels)


@register_model
class UNet(TwoSourceMask):
    name = "unet"
    summary = "U-Net mask on magnitude spectrograms (Jansson et al. 2017)"

    def __init__(self, sources: Sequence[str] = ("vocals", "accompaniment"),
                 sample_rate: int = 16000, audio_channels: int = 1,
                 channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.5,
                 n_fft: int = 1024, hop: int = 256):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        self.channels, self.dropout = _widths(channels), float(dropout)
        self.trunk = Trunk(audio_channels, audio_channels, self.channels, dropout)

    def mask(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.trunk(features))


@register_model
class MultiUNet(MaskModel):
    name = "mtunet"
    summary = "multi-target U-Net: a mask per source from one trunk (Jansson et al. 2017)"

    def __init__(self, sources: Sequence[str] = ("vocals", "drums", "bass", "other"),
                 sample_rate: int = 44100, audio_channels: int = 2,
                 channels: tuple[int, ...] = (16, 32, 64, 128, 256), dropout: float = 0.3,
                 bandwidth: float = 11025.0, n_fft: int = 4096, hop: int = 1024,
                 mask_powers: tuple[float, ...] = (), members: int = 1,
                 source_members: tuple[int, ...] = ()):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if members < 1:
            raise ValueError(f"members must be at least 1; got {members}")
        self.members = int(members)
        self.source_members = tuple(int(k) for k in source_members)
        if self.source_members and (len(self.source_members) != len(self.sources) or not all(
                -1 <= k < self.members for k in self.source_members)):
            raise ValueError(f"source_members must name one member (0..{self.members - 1}, "
                             f"or -1: their mean) per source; got {self.source_members}")
        self.channels, self.dropout = _widths(channels), float(dropout)
        self.bandwidth = float(bandwidth)
        self.mask_powers = tuple(float(p) for p in mask_powers)
        if self.mask_powers and (len(self.mask_powers) != len(self.sources)
                                 or min(self.mask_powers) <= 0):
            raise ValueError(f"mask_powers must be one positive number per source "
                             f"({len(self.sources)}); got {self.mask_powers}")
        multiple = 2 ** len(self.channels)
        bins = int(bandwidth * n_fft / sample_rate) // multiple * multiple
        self.max_bin = max(multiple, min(bins, (n_fft // 2 + 1) // multiple * multiple))
        def trunk() -> Trunk:
            return Trunk(audio_channels, audio_channels * len(self.sources), self.channels,
                         dropout)

        self.trunk = trunk()  # the first member (its own name: older checkpoints' keys)
        self.more_trunks = nn.ModuleList(trunk() for _ in range(self.members - 1))

    @staticmethod
    def member_prefix(k: int) -> str:
        """Where member ``k``'s weights sit in the state dict."""
        return "trunk." if k == 0 else f"more_trunks.{k - 1}."

    def masks(self, spec: torch.Tensor) -> torch.Tensor:
        b, c, f, t = spec.shape
        x = torch.log1p(spec[..., : self.max_bin, :].abs())
        shape = (b, len(self.sources), c, self.max_bin, t)
        each = [torch.sigmoid(trunk(x)).reshape(shape)
                for trunk in (self.trunk, *self.more_trunks)]
        mean = each[0] if self.members == 1 else torch.stack(each).mean(dim=0)
        if self.source_members:  # specialists: a source's mask from one member
            m = torch.stack([mean[:, j] if k < 0 else each[k][:, j]
                             for j, k in enumerate(self.source_members)], dim=1)
        else:
            m = mean
        if self.mask_powers:  # calibrated on validation tracks: below 1 widens a source's mask
            m = m ** m.new_tensor(self.mask_powers).view(1, -1, 1, 1, 1)
        # The sources together take at most the mixture: where the masks sum above one, they
        # are scaled down to sum to one (on MUSDB's validation tracks, +0.16 dB vocals, +0.02
        # to +0.11 dB the others, for the bundled model: docs/benchmarks.md).
        m = m / m.sum(dim=1, keepdim=True).clamp(min=1.0)
        top = m[..., -max(1, self.max_bin // 8):, :].mean(dim=-2, keepdim=True)
        return torch.cat([m, top.expand(-1, -1, -1, f - self.max_bin, -1)], dim=-2)
