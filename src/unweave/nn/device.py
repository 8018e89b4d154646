"""Which torch device to run on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, everywhere."""

from __future__ import annotations

import re

from unweave.errors import UnweaveError

#: The names users may give.
DEVICE_HELP = "auto, cpu, cuda or cuda:N"


def check_device_name(name: str) -> str:
    """``name`` if it is one of :data:`DEVICE_HELP`, else a clear error (no torch import)."""
    if name not in ("auto", "cpu") and not re.fullmatch(r"cuda(:\d+)?", name):
        raise UnweaveError(f"unknown device {name!r}: use {DEVICE_HELP}")
    return name


def resolve_device(name: str) -> str:
    """``name`` -> a torch device that exists here (``auto``: the first GPU when there is one).

    A CUDA device that is not here is an error, not a silent fall-back to the CPU."""
    import torch

    check_device_name(name)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        index = int(name.partition(":")[2] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise UnweaveError(f"device {name}: no such CUDA device here")
    return name
