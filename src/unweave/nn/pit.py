"""Permutation-invariant training: the loss of the best assignment of estimates to references,
per example (utterance-level PIT: Kolbæk, Yu, Tan & Jensen, "Multitalker speech separation with
utterance-level permutation invariant training of deep recurrent neural networks", IEEE/ACM
TASLP 25(10), 2017).

``PIT(pairwise)`` wraps any loss of :mod:`unweave.nn.losses` (``(B, S, C, T)`` pairs ->
``(B, S)``). It scores every estimate against every reference, ``(B, S, S)``; up to three
sources every permutation is tried (the minimum stays differentiable), beyond that the
Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) finds the best one on the
detached scores, in polynomial time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch


def pairwise_losses(loss: Callable, estimates: torch.Tensor,
                    references: torch.Tensor) -> torch.Tensor:
    """``(B, S, ...)`` pairs -> ``(B, S_est, S_ref)``: ``loss`` of estimate i against ref j."""
    s = estimates.shape[1]
    e = estimates[:, :, None].expand(-1, -1, s, *estimates.shape[2:])
    r = references[:, None].expand(-1, s, -1, *references.shape[2:])
    flat = loss(e.reshape(-1, s * s, *estimates.shape[2:]),
                r.reshape(-1, s * s, *references.shape[2:]))
    return flat.reshape(-1, s, s)


class PIT:
    """``PIT(loss)(estimates, references) -> (loss per item (B,), permutation (B, S))`` where
    ``estimates[b, perm[b, j]]`` is matched to ``references[b, j]``.

    A loss that is not a sum over pairs (the discriminative objective of Huang et al.
    compares each estimate with the other sources too) is given as ``total``: ``loss`` (its
    pairwise part) chooses the permutation and ``total`` scores the reordered estimates."""

    def __init__(self, loss: Callable, exhaustive_up_to: int = 3, total: Callable | None = None):
        self.loss, self.exhaustive_up_to, self.total = loss, exhaustive_up_to, total

    def __call__(self, estimates: torch.Tensor, references: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        loss, perm = self._best(estimates, references)
        if self.total is not None:
            loss = self.total(reorder(estimates, perm), references).mean(dim=1)
        return loss, perm

    def _best(self, estimates: torch.Tensor, references: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = pairwise_losses(self.loss, estimates, references)  # (B, est, ref)
        b, s, _ = scores.shape
        if s <= self.exhaustive_up_to:
            perms = torch.tensor(list(itertools.permutations(range(s))), device=scores.device)
            # totals[b, p] = sum_j scores[b, perms[p, j], j]
            totals = scores[:, perms, torch.arange(s, device=scores.device)].sum(-1)
            best = totals.argmin(dim=1)
            return totals[torch.arange(b), best] / s, perms[best]
        from scipy.optimize import linear_sum_assignment

        perm = torch.empty(b, s, dtype=torch.long, device=scores.device)
        for i, matrix in enumerate(scores.detach().cpu().numpy()):
            est, ref = linear_sum_assignment(matrix)
            perm[i, torch.as_tensor(ref)] = torch.as_tensor(est, device=scores.device)
        chosen = scores[torch.arange(b)[:, None], perm, torch.arange(s)[None]]
        return chosen.mean(dim=1), perm


def reorder(estimates: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """``estimates`` ``(B, S, ...)`` in the references' order given by :class:`PIT`."""
    index = permutation.reshape(*permutation.shape, *([1] * (estimates.dim() - 2)))
    return torch.gather(estimates, 1, index.expand_as(estimates))
