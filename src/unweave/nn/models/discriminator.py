"""A critic of isolated-source spectrograms for adversarial training: Stoller, Ewert & Dixon,
"Adversarial semi-supervised audio source separation applied to singing voice extraction",
ICASSP 2018.

Strided convolutions over ``(batch, bins, frames)`` log magnitudes, one score per excerpt: high
for real isolated sources, low for a separator's outputs.
"""

from __future__ import annotations

import torch
from torch import nn


class Discriminator(nn.Module):
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
