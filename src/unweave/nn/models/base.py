"""The base of every separation network, and the registry of architectures by name.

A :class:`SeparationModel` carries what it separates and how it hears: ``sources`` (names),
``sample_rate``, ``audio_channels`` (1: any number of channels, each separated on its own) and
its front end. ``forward`` takes ``(batch, audio_channels, samples)`` and returns
``(batch, sources, audio_channels, samples)``. ``model_args()`` is the dictionary that rebuilds
it (every constructor argument is kept as an attribute of the same name), so a checkpoint is
``(model_name, model_args, state_dict)``.

Causal models (``causal = True``) can also run block by block::

    state = model.init_state(batch)
    out, state = model.process(block, state)    # (B, C, n) -> (B, S, C, m)

and the blocks' outputs, concatenated, equal the offline ``forward`` (see
:mod:`unweave.nn.realtime`).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

#: The constructor arguments every model has; the others are its architecture options.
BASE_ARGS = ("sources", "sample_rate", "audio_channels")


@dataclass(frozen=True)
class ModelOption:
    """One architecture option: ``name``, its ``kind`` (int, float, str, bool, ints) and
    default; :meth:`SeparationModel.options` lists them from the constructor's signature."""

    name: str
    kind: str
    default: Any


class SeparationModel(nn.Module):
    """Base class; subclasses register with :func:`register_model` and implement ``forward``."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    causal: ClassVar[bool] = False

    def __init__(self, sources: Sequence[str], sample_rate: int, audio_channels: int):
        super().__init__()
        self.sources = tuple(str(s) for s in sources)
        if not self.sources or len(set(self.sources)) != len(self.sources):
            raise ValueError(f"sources must be distinct names; got {self.sources}")
        self.sample_rate, self.audio_channels = int(sample_rate), int(audio_channels)

    @property
    def residual(self) -> str | None:
        """The source that is by construction the mixture minus the others (None: none is).
        At another sample rate it is recomputed as such, so it keeps the band the model
        cannot hear."""
        return None

    def model_args(self) -> dict:
        """The constructor arguments that rebuild this model (plain lists, numbers, text)."""
        args = {}
        for p in list(inspect.signature(type(self).__init__).parameters)[1:]:
            value = getattr(self, p)
            args[p] = list(value) if isinstance(value, tuple) else value
        return args

    @classmethod
    def default_args(cls) -> dict:
        """The constructor's defaults, as :meth:`model_args` would hold them (plain lists)."""
        return {p.name: list(p.default) if isinstance(p.default, tuple) else p.default
                for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
                if p.default is not inspect.Parameter.empty}

    @classmethod
    def options(cls) -> list[ModelOption]:
        """The architecture options users may set (the constructor's, less :data:`BASE_ARGS`)."""
        hints = typing.get_type_hints(cls.__init__)
        out = []
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if p.name in BASE_ARGS:
                continue
            out.append(ModelOption(p.name, _kind(hints.get(p.name)), p.default))
        return out

    # --- block-by-block processing (causal models) ---------------------------------------------

    @property
    def latency(self) -> int:
        """Causal models: the most samples between an input sample and its output."""
        raise NotImplementedError(f"'{self.name}' is not a causal model")

    def init_state(self, batch: int = 1) -> dict:
        raise NotImplementedError(f"'{self.name}' is not a causal model: it has no streaming "
                                  "state")

    def process(self, block, state: dict):
        raise NotImplementedError(f"'{self.name}' is not a causal model: run it offline")


class Wrapped(nn.Module):
    """Base of modules that run a model and change its outputs (a post-filter, test-time
    passes): they describe themselves as the model does, so they run wherever it runs."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.name, self.sources = model.name, model.sources
        self.sample_rate, self.audio_channels = model.sample_rate, model.audio_channels
        self.residual = model.residual
        self.permutation_invariant = bool(getattr(model, "permutation_invariant", False))


def _kind(hint) -> str:
    if hint in (int, float, str, bool):
        return hint.__name__
    origin = typing.get_origin(hint)
    if origin in (tuple, list) and int in typing.get_args(hint):
        return "ints"
    if origin in (tuple, list) and float in typing.get_args(hint):
        return "floats"
    if origin in (typing.Union, types.UnionType):
        return _kind(next(a for a in typing.get_args(hint) if a is not type(None)))
    return "str"


MODELS: dict[str, type[SeparationModel]] = {}


def register_model(cls: type[SeparationModel]) -> type[SeparationModel]:
    """Class decorator: make an architecture available by its ``name``."""
    if not cls.name or cls.name in MODELS:
        raise RuntimeError(f"bad or duplicate model name {cls.name!r}")
    MODELS[cls.name] = cls
    return cls


def build(name: str, args: dict) -> SeparationModel:
    """The model ``name`` made from ``args`` (lists become tuples where the option is one)."""
    from unweave.errors import UnweaveError

    if name not in MODELS:
        raise UnweaveError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    cls = MODELS[name]
    kinds = {o.name: o.kind for o in cls.options()}
    args = {k: tuple(v) if kinds.get(k) in ("ints", "floats") else v for k, v in args.items()}
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise UnweaveError(f"model '{name}': {exc}") from None
