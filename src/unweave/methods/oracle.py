"""Oracle and trivial baselines: the upper and lower bounds of every results table.

The oracles read the true sources (``references``: ``{name: (channels, samples)}``), so they
show what a perfect mask of each kind could achieve (Vincent, Gribonval & Plumbley, "Oracle
estimators for the benchmarking of source separation algorithms", Signal Processing 2007;
the sigsep oracle baselines of SiSEC 2018: IBM, IRM, multichannel Wiener). ``mixture`` returns
the mixture as every estimate: the score any method has to beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unweave.errors import UnweaveError
from unweave.masking import binary_masks, ratio_masks, wiener
from unweave.methods.base import Assumptions, Separation, Separator, register
from unweave.spectral import STFTConfig, istft, stft

ORACLE = Assumptions(needs_references=True)


@dataclass
class _MaskOracle(Separator):
    n_fft: int = 2048
    hop: int = 512

    assumptions = ORACLE

    def masks(self, ref_mags: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def separate(self, mixture, sample_rate, references=None, **inputs):
        config = STFTConfig(self.n_fft, self.hop)
        spec = stft(mixture, config)
        names = list(references)
        ref_mags = np.abs(stft(np.stack([references[n] for n in names]), config))
        masks = self.masks(ref_mags)
        length = mixture.shape[-1]
        sources = {n: istft(spec * m, config, length) for n, m in zip(names, masks)}
        return Separation(sources, sample_rate, dict(zip(names, masks)))


@register
@dataclass
class IdealBinaryMask(_MaskOracle):
    """Ideal binary mask: each bin goes to the source with the largest true magnitude."""

    name = "ibm"
    summary = "oracle ideal binary mask (upper bound)"
    reference = "Vincent, Gribonval & Plumbley, Signal Processing 87(8), 2007"

    def masks(self, ref_mags):
        return binary_masks(ref_mags)


@register
@dataclass
class IdealRatioMask(_MaskOracle):
    """Ideal ratio mask ``|S_j|^p / sum_k |S_k|^p`` (``power`` 1: magnitude, 2: Wiener-like)."""

    power: float = 2.0

    name = "irm"
    summary = "oracle ideal ratio mask (upper bound)"
    reference = "Vincent, Gribonval & Plumbley, Signal Processing 87(8), 2007; SiSEC 2018"

    def __post_init__(self):
        if self.power <= 0:
            raise UnweaveError(f"power must be > 0 (got {self.power})")

    def masks(self, ref_mags):
        return ratio_masks(ref_mags, self.power)


@register
@dataclass
class OracleWiener(Separator):
    """Multichannel Wiener filter with the true source variances and spatial covariances."""

    n_fft: int = 2048
    hop: int = 512

    name = "wiener"
    summary = "oracle multichannel Wiener filter (upper bound)"
    reference = "Duong, Vincent & Gribonval, IEEE TASLP 18(7), 2010; SiSEC 2018 oracle MWF"
    assumptions = ORACLE

    def separate(self, mixture, sample_rate, references=None, **inputs):
        config = STFTConfig(self.n_fft, self.hop)
        spec = stft(mixture, config)
        names = list(references)
        ref_specs = stft(np.stack([references[n] for n in names]), config)
        images = wiener(ref_specs, spec, iterations=1)
        length = mixture.shape[-1]
        sources = {n: istft(y, config, length).astype(mixture.dtype) for n, y in zip(names, images)}
        return Separation(sources, sample_rate)


@register
@dataclass
class MixtureBaseline(Separator):
    """The mixture itself as the estimate of every source: the lower bound of every table.

    Source names come from ``references`` when given, else ``source_1..n_sources``.
    """

    n_sources: int = 2

    name = "mixture"
    summary = "mixture as every estimate (lower bound)"
    reference = "Vincent, Gribonval & Fevotte, IEEE TASLP 14(4), 2006 (BSS Eval baseline)"
    assumptions = Assumptions()

    def __post_init__(self):
        if not 1 <= self.n_sources <= 64:
            raise UnweaveError("need 1 <= n_sources <= 64")

    def separate(self, mixture, sample_rate, references=None, **inputs):
        names = list(references) if references else [f"source_{i + 1}"
                                                     for i in range(self.n_sources)]
        return Separation({n: mixture.copy() for n in names}, sample_rate)


@register
@dataclass
class MixtureGainOracle(Separator):
    """Each source estimated as the mixture times that source's least-squares gain
    ``<x, s_j> / <x, x>`` (one number per source, from the true sources): how much of a score
    trivial scaling buys under a metric that is not scale-invariant (BSS Eval v4 SDR)."""

    name = "mixture-gain"
    summary = "mixture x each source's least-squares gain (oracle of trivial scaling)"
    reference = "baseline for BSS Eval v4, which is not scale-invariant (issue 13)"
    assumptions = ORACLE

    def separate(self, mixture, sample_rate, references=None, **inputs):
        x = mixture.astype(np.float64)
        power = max(float(np.sum(x * x)), np.finfo(float).tiny)
        return Separation({n: (x * (np.sum(x * r) / power)).astype(mixture.dtype)
                           for n, r in references.items()}, sample_rate)
