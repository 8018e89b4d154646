"""Test-time augmentation: a network's outputs averaged over a few transformed passes.

A time-domain network's errors depend on where the signal falls on its encoder's frame grid
and on its sign (the ReLU encoder of Conv-TasNet is not odd): the same mixture shifted by half
a stride, or negated, gives another estimate, and the mean of a few such estimates is better
than any one (the "shift trick" of Défossez et al., Demucs, 2019). :class:`Averaged` wraps a
model and takes what it takes, ``(B, C, T)`` -> ``(B, S, C, T)``, so
:func:`unweave.nn.apply.apply_model` runs it in segments like any model. For a
permutation-invariant model (talkers) each pass's sources are first put in the first pass's
order, two seconds at a time (the assignment that correlates best: a pass may move a
talker to the other output mid-segment at another moment than the first pass).

Passes, in this order (the first ``passes`` are run): as is; delayed by half the encoder's
stride (or the STFT's hop); negated; delayed and negated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from unweave.chunks import best_order
from unweave.nn.models.base import Wrapped

MAX_PASSES = 4


def pass_plan(passes: int, stride: int) -> list[tuple[int, int]]:
    """``(delay in samples, sign)`` of each pass."""
    half = max(1, stride // 2)
    return [(0, 1), (half, 1), (0, -1), (half, -1)][:passes]


class Averaged(Wrapped):
    """``model``'s outputs averaged over ``passes`` transformed inputs (1..4)."""

    def __init__(self, model, passes: int = 3):
        if not 1 <= passes <= MAX_PASSES:
            raise ValueError(f"passes must be 1..{MAX_PASSES}; got {passes}")
        super().__init__(model)
        self.passes = int(passes)
        # Half the encoder's stride (Conv-TasNet) or hop (STFT models): the least-aligned
        # position on its frame grid.
        grid = getattr(model, "stride", None) or getattr(model, "hop", None) or 2
        self.plan = pass_plan(self.passes, int(grid))

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        n = mixture.shape[-1]
        total = None
        for delay, sign in self.plan:  # each pass's output is a new tensor
            out = self.model(F.pad(mixture, (delay, 0)) * sign)[..., delay:delay + n] * sign
            if total is None:
                total = out
                continue
            if self.permutation_invariant:
                out = aligned(out, total, int(self.sample_rate * ALIGN_SECONDS))
            total += out
        return total / len(self.plan)


#: Passes of a permutation-invariant model are matched in blocks this long (chosen on validation
#: among the whole segment, 0.5 s and 2 s): a pass may move a talker to the other output within
#: a segment, at another moment than the first pass does.
ALIGN_SECONDS = 2.0


def aligned(out: torch.Tensor, target: torch.Tensor, block: int) -> torch.Tensor:
    """``out`` ``(B, S, C, T)`` with its sources reordered, block by block of ``block``
    samples, to continue ``target``'s (:func:`unweave.chunks.best_order`)."""
    result = out.clone()
    for start in range(0, out.shape[-1], block):
        span = slice(start, start + block)
        for b in range(out.shape[0]):
            order = best_order(target[b, ..., span].cpu().numpy(),
                               out[b, ..., span].cpu().numpy())
            result[b, ..., span] = out[b, order][..., span]
    return result
