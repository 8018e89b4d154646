"""Conv-TasNet: Luo & Mesgarani, "Conv-TasNet: Surpassing ideal time-frequency magnitude
masking for speech separation", IEEE/ACM TASLP 27(8), 2019.

A learned encoder (a 1-D convolution of ``kernel`` samples, stride half of it, ``filters``
filters, ReLU) replaces the STFT; a temporal convolutional network (``repeats`` x ``blocks``
1-D convolution blocks with dilations 1, 2, 4..., each a 1x1 convolution to ``hidden``
channels, PReLU, normalisation, a depthwise convolution, PReLU, normalisation, and 1x1
convolutions back to the ``bottleneck`` (residual) and to the skip path) estimates a sigmoid
mask per source over the encoder's output; a transposed convolution decodes each masked
representation to a waveform. Global layer normalisation (the paper's non-causal setting).
The paper's best model has 512 filters of 16 samples, 8 x 3 blocks of 512 channels at 8 kHz
(5.1 M parameters); the defaults here are sized for a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from unweave.nn.models.base import SeparationModel, register_model


class GlobalLayerNorm(nn.Module):
    """Normalisation over channels and time of each example (the paper's gLN)."""

    def __init__(self, channels: int, eps: float = 1e-8):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(1, channels, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(1, 2), keepdim=True)
        return self.gamma * (x - mean) / torch.sqrt(var + self.eps) + self.beta


class Block(nn.Module):
    def __init__(self, bottleneck: int, hidden: int, skip: int, kernel: int, dilation: int):
        super().__init__()
        self.inp = nn.Conv1d(bottleneck, hidden, 1)
        self.act1, self.norm1 = nn.PReLU(), GlobalLayerNorm(hidden)
        self.depthwise = nn.Conv1d(hidden, hidden, kernel, dilation=dilation,
                                   padding=dilation * (kernel - 1) // 2, groups=hidden)
        self.act2, self.norm2 = nn.PReLU(), GlobalLayerNorm(hidden)
        self.res = nn.Conv1d(hidden, bottleneck, 1)
        self.skip = nn.Conv1d(hidden, skip, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.norm1(self.act1(self.inp(x)))
        h = self.norm2(self.act2(self.depthwise(h)))
        return x + self.res(h), self.skip(h)


@register_model
class ConvTasNet(SeparationModel):
    name = "convtasnet"
    summary = "Conv-TasNet: learned encoder, TCN masks, decoder (Luo & Mesgarani 2019)"

    def __init__(self, sources: Sequence[str] = ("talker_1", "talker_2"),
                 sample_rate: int = 8000, audio_channels: int = 1, filters: int = 128,
                 kernel: int = 16, bottleneck: int = 64, hidden: int = 128, skip: int = 64,
                 conv_kernel: int = 3, blocks: int = 6, repeats: int = 2):
        super().__init__(sources, sample_rate, audio_channels)
        if kernel < 2 or kernel % 2 or min(filters, bottleneck, hidden, skip, blocks,
                                            repeats) < 1 or conv_kernel % 2 == 0:
            raise ValueError("need an even kernel >= 2, an odd conv_kernel and positive sizes")
        self.filters, self.kernel, self.bottleneck = int(filters), int(kernel), int(bottleneck)
        self.hidden, self.skip, self.conv_kernel = int(hidden), int(skip), int(conv_kernel)
        self.blocks, self.repeats = int(blocks), int(repeats)
        c, s = audio_channels, len(self.sources)
        self.stride = kernel // 2
        self.encoder = nn.Conv1d(c, filters, kernel, stride=self.stride, bias=False)
        self.norm = GlobalLayerNorm(filters)
        self.proj = nn.Conv1d(filters, bottleneck, 1)
        self.tcn = nn.ModuleList(Block(bottleneck, hidden, skip, conv_kernel, 2**i)
                                 for _ in range(repeats) for i in range(blocks))
        self.mask = nn.Sequential(nn.PReLU(), nn.Conv1d(skip, s * filters, 1))
        self.decoder = nn.ConvTranspose1d(filters, c, kernel, stride=self.stride, bias=False)

    @property
    def permutation_invariant(self) -> bool:
        """Its sources have no fixed order (trained with PIT): chunks are matched."""
        return True

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        b, c, n = mixture.shape
        pad = (-(n - self.kernel)) % self.stride if n >= self.kernel else self.kernel - n
        x = F.pad(mixture, (0, pad))
        w = F.relu(self.encoder(x))  # (B, N, frames)
        h = self.proj(self.norm(w))
        skips = 0
        for block in self.tcn:
            h, s = block(h)
            skips = skips + s
        masks = torch.sigmoid(self.mask(skips)).reshape(b, len(self.sources), self.filters, -1)
        out = self.decoder((masks * w[:, None]).reshape(b * len(self.sources), self.filters, -1))
        return out.reshape(b, len(self.sources), c, -1)[..., :n]
