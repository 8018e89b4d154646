"""Training on several processes: the same ``unweave train ...`` under ``torchrun``.

``torchrun --nproc-per-node N unweave train ...`` (with ``--nnodes M --rdzv-backend c10d
--rdzv-endpoint HOST:PORT`` on several machines) starts N processes per machine and tells each
its place through the environment (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``). :func:`setup` reads it, joins the process group (gloo on CPUs, NCCL on GPUs,
one GPU per local rank) and :func:`wrap` makes the model DistributedDataParallel: every step
averages the gradients of all ranks, each having computed them on its own shard of the
examples. Only rank 0 writes checkpoints and logs. Without those variables training runs in one
process as usual.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from unweave.errors import UnweaveError

#: What torchrun sets for each process.
ENVIRONMENT = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Context:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: str = "cpu"

    @property
    def main(self) -> bool:
        """Whether this process writes checkpoints and logs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _environment() -> dict[str, str]:
    return {k: os.environ[k] for k in ENVIRONMENT if k in os.environ}


def setup(device: str) -> Context:
    """The process's place in the run, the process group joined when there is one.

    ``device`` is the resolved device of a single process ("cpu", "cuda", "cuda:N"); under
    torchrun a CUDA run gives each local rank its own GPU."""
    env = _environment()
    if not env or env.get("WORLD_SIZE") == "1":
        return Context(device=device)
    missing = [k for k in ENVIRONMENT if k not in env]
    if missing:
        raise UnweaveError("launched half-configured for distributed training: "
                           f"{', '.join(sorted(env))} set but {', '.join(missing)} not; start "
                           "it with 'torchrun --nproc-per-node N unweave train ...' (or unset "
                           "them for one process)")
    try:
        rank, local, world = (int(env["RANK"]), int(env["LOCAL_RANK"]),
                              int(env["WORLD_SIZE"]))
    except ValueError:
        raise UnweaveError(f"RANK, LOCAL_RANK and WORLD_SIZE must be integers (got {env})"
                           ) from None
    if not 0 <= rank < world:
        raise UnweaveError(f"RANK {rank} is outside WORLD_SIZE {world}")
    import torch
    import torch.distributed as dist

    if device.startswith("cuda"):
        if local >= torch.cuda.device_count():
            raise UnweaveError(f"local rank {local} has no GPU: this machine has "
                               f"{torch.cuda.device_count()}; give --nproc-per-node <= that")
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(minutes=30))
    return Context(rank, local, world, device)


def wrap(model, ctx: Context):
    """``model`` for training: DistributedDataParallel in a distributed run (batch norm made
    synchronous on GPUs, so statistics span the whole batch), else unchanged."""
    if not ctx.distributed:
        return model
    import torch
    from torch.nn.parallel import DistributedDataParallel

    if ctx.device.startswith("cuda"):
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model, device_ids=[ctx.local_rank])
    return DistributedDataParallel(model)


def unwrap(model):
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def mean_over_ranks(value: float, ctx: Context) -> float:
    """``value`` averaged over all ranks (itself in one process)."""
    if not ctx.distributed:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64,
                     device=ctx.device if ctx.device.startswith("cuda") else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def from_main(value: float, ctx: Context) -> float:
    """Rank 0's ``value`` on every rank (a validation score computed there once)."""
    if not ctx.distributed:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64,
                     device=ctx.device if ctx.device.startswith("cuda") else "cpu")
    dist.broadcast(t, 0)
    return float(t.item())


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        import torch.distributed as dist

        dist.barrier()


def shutdown(ctx: Context) -> None:
    if ctx.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
