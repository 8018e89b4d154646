"""The Separator protocol, the result type, and the registry of methods by name.

A separator is configured at construction and given data at call::

    Separation = HPSS(kernel=31)(mixture, sample_rate)

``mixture`` is ``(channels, samples)``; every source in the result has that shape. Each
method declares what it assumes (:class:`Assumptions`), so the CLI can refuse input it cannot
use and ``unweave methods`` can print the ladder.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from unweave.errors import UnknownMethodError, UnweaveError


@dataclass(frozen=True)
class Assumptions:
    """What a method needs to work.

    ``min_channels``/``max_channels`` bound the input's channel count (``None``: no bound);
    ``content`` is a short description ("music", "speech", "any"); the ``needs_*`` flags say
    which extra inputs the call requires.
    """

    min_channels: int = 1
    max_channels: int | None = None
    content: str = "any"
    mixing: str = "any"
    needs_references: bool = False
    needs_training: bool = False
    needs_score: bool = False

    def channels_text(self) -> str:
        lo, hi = self.min_channels, self.max_channels
        if hi is None:
            return f">= {lo}" if lo > 1 else "any"
        return str(lo) if lo == hi else f"{lo}-{hi}"


@dataclass
class Separation:
    """The result of a separator.

    ``sources`` maps a source name to its estimate, shaped like the mixture ``(channels,
    samples)``; ``masks`` (when the method uses masks) maps the same names to ``(channels,
    freqs, frames)`` arrays; ``info`` holds diagnostics (convergence history, parameters).
    """

    sources: dict[str, np.ndarray]
    sample_rate: int
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.sources[name]

    def __iter__(self):
        return iter(self.sources)

    @property
    def names(self) -> list[str]:
        return list(self.sources)


class Separator:
    """Base class: subclasses are dataclasses of options and implement :meth:`separate`.

    Calling the object validates the mixture once (shape, finiteness, silence, channel count),
    calls ``separate(mixture, sample_rate, **inputs)`` and checks that every estimate is
    finite.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    assumptions: ClassVar[Assumptions] = Assumptions()
    #: False when the sources have no fixed order (blind separation, talkers): chunks of a
    #: long signal are then matched to each other (:func:`unweave.chunks.best_order`).
    ordered_sources: ClassVar[bool] = True

    def __call__(self, mixture: np.ndarray, sample_rate: int, **inputs) -> Separation:
        mixture = validate_mixture(mixture, sample_rate, self.assumptions, self.name)
        if self.assumptions.needs_references:
            inputs["references"] = validate_references(inputs.get("references"), mixture,
                                                       self.name)
        result = self.separate(mixture, int(sample_rate), **inputs)
        for source, estimate in result.sources.items():
            if not np.all(np.isfinite(estimate)):
                raise UnweaveError(f"'{self.name}' gave non-finite samples for '{source}' "
                                   "(an option far out of its usual range?)")
        return result

    def separate(self, mixture: np.ndarray, sample_rate: int, **inputs) -> Separation:
        raise NotImplementedError

    @classmethod
    def options(cls) -> list[dataclasses.Field]:
        """The method's user-settable options (its dataclass fields)."""
        return [f for f in dataclasses.fields(cls) if not f.name.startswith("_")]


def validate_mixture(mixture, sample_rate, assumptions: Assumptions, method: str) -> np.ndarray:
    """Check a mixture against a method's assumptions; return it as float ``(C, N)``."""
    mixture = np.asarray(mixture)
    if mixture.ndim == 1:
        mixture = mixture[None]
    if mixture.ndim != 2:
        raise UnweaveError(f"mixture must be (channels, samples); got shape {mixture.shape}")
    if mixture.shape[0] > mixture.shape[1]:
        raise UnweaveError(
            f"mixture has {mixture.shape[0]} channels and {mixture.shape[1]} samples; "
            "pass (channels, samples), not (samples, channels)"
        )
    if not np.issubdtype(mixture.dtype, np.floating):
        mixture = mixture.astype(np.float32)
    if not sample_rate or sample_rate <= 0:
        raise UnweaveError(f"sample rate must be positive; got {sample_rate}")
    if mixture.shape[1] == 0:
        raise UnweaveError("mixture is empty (0 samples)")
    if not np.all(np.isfinite(mixture)):
        raise UnweaveError("mixture contains NaN or infinite samples")
    if not np.any(mixture):
        raise UnweaveError("mixture is silent (all samples are zero)")
    n_chan, lo, hi = mixture.shape[0], assumptions.min_channels, assumptions.max_channels
    if n_chan < lo or (hi is not None and n_chan > hi):
        need = assumptions.channels_text()
        raise UnweaveError(f"method '{method}' needs {need} channels; the input has {n_chan}")
    return mixture


#: Blind separation (ICA, IVA, ILRMA) finds at most this many sources: its cost grows with the
#: cube of the count and its output (every source's image at every microphone) with the square.
MAX_BLIND_SOURCES = 16


def count_blind_sources(method: str, n_sources: int, channels: int) -> int:
    """How many sources a determined blind method separates from ``channels`` microphones
    (``n_sources`` 0: one per channel); a clear error when that cannot be done."""
    n = n_sources or channels
    if n > channels:
        raise UnweaveError(f"'{method}' separates at most as many sources as channels "
                           f"({channels}); asked for {n} (try 'duet')")
    if n > MAX_BLIND_SOURCES:
        raise UnweaveError(f"'{method}' separates at most {MAX_BLIND_SOURCES} sources; the input "
                           f"has {channels} channels: give --sources N (N <= "
                           f"{MAX_BLIND_SOURCES}) and the channels are reduced to N")
    return n


def validate_references(references, mixture: np.ndarray, method: str) -> dict[str, np.ndarray]:
    """Check oracle references: a non-empty ``{name: (C, N)}`` matching the mixture's shape."""
    if not references:
        raise UnweaveError(f"method '{method}' is an oracle: it needs the reference sources")
    out = {}
    for name, ref in references.items():
        ref = np.asarray(ref, dtype=mixture.dtype)
        if ref.ndim == 1:
            ref = ref[None]
        if ref.shape != mixture.shape:
            raise UnweaveError(
                f"reference '{name}' has shape {ref.shape}; the mixture has {mixture.shape}"
            )
        out[name] = ref
    return out


_REGISTRY: dict[str, type[Separator]] = {}


def register(cls: type[Separator]) -> type[Separator]:
    """Class decorator: make a separator available by its ``name``."""
    if not cls.name or cls.name in _REGISTRY:
        raise RuntimeError(f"bad or duplicate method name {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def available_methods() -> dict[str, type[Separator]]:
    """Registered separators by name, in registration order."""
    return dict(_REGISTRY)


def get_method(name: str) -> type[Separator]:
    """The separator class registered as ``name``; unknown names suggest the closest."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1, cutoff=0.4)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        known = ", ".join(_REGISTRY)
        raise UnknownMethodError(f"unknown method '{name}'{hint} (known: {known})") from None
