"""Separation methods, one module per family, each registered by name."""

from unweave.methods import center, gmm, hpss, nmf, oracle, repet  # noqa: F401  (registers)
from unweave.methods.base import (
    Assumptions,
    Separation,
    Separator,
    available_methods,
    get_method,
    register,
)

__all__ = [
    "Assumptions",
    "Separation",
    "Separator",
    "available_methods",
    "get_method",
    "register",
]
