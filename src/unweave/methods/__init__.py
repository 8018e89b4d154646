"""Separation methods, one module per family, each registered by name."""

from unweave.methods import (  # noqa: F401  (importing registers the methods)
    center,
    duet,
    gmm,
    hpss,
    ica,
    iva,
    neural,
    nmf,
    oracle,
    repet,
    score,
)
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
