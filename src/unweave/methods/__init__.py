"""Separation methods, one module per family, each registered by name."""

from unweave.methods import center, hpss, oracle  # noqa: F401  (registers the methods)
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
