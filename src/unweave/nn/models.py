"""Mask-estimating networks on magnitude spectrograms ``(batch, bins, frames)``.

- ``UNet``: Jansson, Humphrey, Montecchio, Bittner, Kumar & Weyde, "Singing voice separation
  with deep U-Net convolutional networks", ISMIR 2017: strided 5x5 convolutions down, transposed
  convolutions up, skip connections, a sigmoid mask. ``channels`` sets the width and depth
  (Jansson et al. use 16..512 over six levels; the bundled model is smaller).
- ``DRNN``: Huang, Kim, Hasegawa-Johnson & Smaragdis, "Joint optimization of masks and deep
  recurrent neural networks for monaural source separation", IEEE/ACM TASLP 23(12), 2015: a
  recurrent network over frames with a joint mask layer, ``|y1| / (|y1| + |y2|)``, so the two
  sources' masks sum to one.

Both return the vocal mask in [0, 1], shaped like the input.
"""

from __future__ import annotations

import torch
from torch import nn


class UNet(nn.Module):
    def __init__(self, channels: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.5):
        super().__init__()
        self.channels = tuple(channels)
        self.down = nn.ModuleList()
        c_in = 1
        for c in self.channels:
            self.down.append(nn.Sequential(nn.Conv2d(c_in, c, 5, stride=2, padding=2),
                                           nn.BatchNorm2d(c), nn.LeakyReLU(0.2)))
            c_in = c
        self.up = nn.ModuleList()
        rev = list(reversed(self.channels))
        for i, c in enumerate(rev):
            c_out = rev[i + 1] if i + 1 < len(rev) else 1
            c_total = c if i == 0 else 2 * c
            layers = [nn.ConvTranspose2d(c_total, c_out, 5, stride=2, padding=2,
                                         output_padding=1)]
            if c_out != 1:
                layers += [nn.BatchNorm2d(c_out), nn.ReLU()]
                if i < 2 and dropout > 0:
                    layers.append(nn.Dropout2d(dropout))
            self.up.append(nn.Sequential(*layers))

    @property
    def multiple(self) -> int:
        """Frames and bins must be multiples of this."""
        return 2 ** len(self.channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x[:, None]
        skips = []
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        skips.pop()
        for i, layer in enumerate(self.up):
            if i > 0:
                h = torch.cat([h, skips.pop()], dim=1)
            h = layer(h)
        return torch.sigmoid(h[:, 0])


class DRNN(nn.Module):
    def __init__(self, bins: int = 512, hidden: int = 256, layers: int = 2):
        super().__init__()
        self.rnn = nn.GRU(bins, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, 2 * bins)
        self.bins = bins

    multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(x.transpose(1, 2))  # (batch, frames, hidden)
        y = torch.relu(self.out(h))  # two non-negative source estimates
        y1, y2 = y[..., : self.bins], y[..., self.bins :]
        mask = y1 / (y1 + y2 + 1e-8)  # the joint mask layer
        return mask.transpose(1, 2)


MODELS = {"unet": UNet, "drnn": DRNN}


def build(name: str, args: dict) -> nn.Module:
    from unweave.errors import UnweaveError

    if name not in MODELS:
        raise UnweaveError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    if name == "unet" and "channels" in args:
        args = {**args, "channels": tuple(args["channels"])}
    return MODELS[name](**args)


class Discriminator(nn.Module):
    """Tells real isolated-source magnitudes from separator outputs (Stoller, Ewert & Dixon,
    "Adversarial semi-supervised audio source separation applied to singing voice
    extraction", ICASSP 2018): strided convolutions over ``(batch, bins, frames)`` log
    magnitudes, one score per excerpt."""

    def __init__(self, channels: tuple[int, ...] = (8, 16, 32, 64)):
        super().__init__()
        layers, c_in = [], 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x[:, None])
        return self.head(h.mean(dim=(2, 3)))[:, 0]
