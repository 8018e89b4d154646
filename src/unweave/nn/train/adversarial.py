"""Adversarial semi-supervised training (Stoller, Ewert & Dixon, ICASSP 2018).

Besides the paired loss, each step draws unpaired data, mixtures without stems and isolated
sources without their mixtures: a critic (:class:`~unweave.nn.models.discriminator.
Discriminator`) learns to tell real isolated sources from the separator's estimates on the
unpaired mixtures, and the separator gets the least-squares GAN loss of its estimates, which
pushes them toward what real isolated sources look like. The critic and its optimiser are part
of the checkpoint, so a resumed run continues them too.
"""

from __future__ import annotations

import numpy as np
import torch

from unweave.nn.frontend import STFT
from unweave.nn.models.discriminator import Discriminator


class Adversary:
    """The critic of source ``target`` (an index into the model's sources) of a separator,
    on ``examples`` (:class:`~unweave.data.datasets.UnpairedExamples`)."""

    def __init__(self, examples, weight: float, lr: float = 1e-3, target: int = 0,
                 n_fft: int = 1024, hop: int = 256):
        self.examples, self.weight, self.target = examples, float(weight), target
        self.critic = Discriminator()
        self.optimizer = torch.optim.Adam(self.critic.parameters(), lr=lr)
        self.stft = STFT(n_fft, hop)
        self.device = "cpu"

    def to(self, device: str) -> Adversary:
        self.device = device
        self.critic.to(device)
        self.stft.to(device)
        return self

    def wrap(self, ctx) -> None:
        """Average the critic's gradients over ranks too (a distributed run)."""
        from unweave.nn.train.distributed import wrap

        self.critic = wrap(self.critic, ctx)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, bins, frames)`` log magnitudes of the channels' mean."""
        spec = self.stft(x.mean(dim=1))
        return torch.log1p(spec[:, : self.stft.n_fft // 2].abs())

    def batch(self, size: int, first: int) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [self.examples[first + j] for j in range(size)]
        mixtures = torch.from_numpy(np.stack([p[0] for p in pairs])).to(self.device)
        reals = torch.from_numpy(np.stack([p[1] for p in pairs])).to(self.device)
        return mixtures, reals

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Least squares: real scored toward 1, fake toward 0 (one pass over both)."""
        scores = self.critic(torch.cat([real, fake]))
        n = real.shape[0]
        return torch.mean((scores[:n] - 1) ** 2) + torch.mean(scores[n:] ** 2)

    def separator_loss(self, model, size: int, first: int) -> torch.Tensor:
        """One critic update on examples ``first..first+size-1``; the separator's adversarial
        loss on them (its estimates scored against the label of real sources)."""
        mixtures, reals = self.batch(size, first)
        fake = self.features(model(mixtures)[:, self.target].float())
        real = self.features(reals)
        d_loss = self.critic_loss(real, fake.detach())
        self.optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimizer.step()
        return torch.mean((self.critic(fake) - 1) ** 2)

    def state_dict(self) -> dict:
        from unweave.nn.train.distributed import unwrap

        return {"critic": {k: v.detach().cpu() for k, v in
                           unwrap(self.critic).state_dict().items()},
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        from unweave.nn.train.distributed import unwrap

        unwrap(self.critic).load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
