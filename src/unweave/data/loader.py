"""Example sets (:mod:`unweave.data.datasets`) as torch batches: a DataLoader with worker
processes, each rank of a distributed run on its own shard.

Example numbers are global: step ``k`` of epoch ``e`` on rank ``r`` of ``world`` takes
examples ``((e * steps + k) * world + r) * batch ... + batch - 1``. So a run on two processes
with batch ``b`` sees, at each step, exactly the examples one process with batch ``2b`` sees,
and a resumed run starts at the step where it stopped. Workers are seeded per worker (numpy,
``random``, torch) for any library randomness; examples do not depend on it.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class ExampleDataset(Dataset):
    """Any ``examples[i] -> (mixture, sources)`` as float32 tensors."""

    def __init__(self, examples):
        self.examples = examples

    def __getitem__(self, index: int):
        mixture, sources = self.examples[index]
        return torch.from_numpy(np.ascontiguousarray(mixture, np.float32)), \
            torch.from_numpy(np.ascontiguousarray(sources, np.float32))

    def __len__(self) -> int:  # examples are drawn on demand: any number is valid
        return 2**62


class ShardSampler(Sampler):
    """The global example numbers of one rank for steps ``start .. steps - 1`` of ``epoch``."""

    def __init__(self, epoch: int, steps: int, batch: int, rank: int = 0, world: int = 1,
                 start: int = 0):
        self.epoch, self.steps, self.batch = epoch, steps, batch
        self.rank, self.world, self.start = rank, world, start

    def __iter__(self):
        for step in range(self.start, self.steps):
            first = ((self.epoch * self.steps + step) * self.world + self.rank) * self.batch
            yield from range(first, first + self.batch)

    def __len__(self) -> int:
        return (self.steps - self.start) * self.batch


def seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_loader(examples, epoch: int, steps: int, batch: int, rank: int = 0, world: int = 1,
                start: int = 0, workers: int = 0, seed: int = 0) -> DataLoader:
    """Batches ``(mixture (B, C, T), sources (B, S, C, T))`` for steps ``start..steps-1``."""
    generator = torch.Generator()
    generator.manual_seed(seed * 1000 + epoch * 10 + rank)
    return DataLoader(ExampleDataset(examples), batch_size=batch,
                      sampler=ShardSampler(epoch, steps, batch, rank, world, start),
                      num_workers=workers, worker_init_fn=seed_worker if workers else None,
                      generator=generator, persistent_workers=False,
                      prefetch_factor=4 if workers else None)
