"""Separation quality metrics: BSS Eval v3 and v4, SI-SDR, and the energy-ratio SDR.

All take ``(sources, channels, samples)`` arrays (``(sources, samples)`` for single channel)
and compute in float64.
"""

from unweave.metrics.bss_eval import (
    BSSEvalResult,
    bss_eval_images,
    bss_eval_images_framewise,
    bss_eval_sources,
    bss_eval_sources_framewise,
    bss_eval_v4,
)
from unweave.metrics.energy import framewise_sdr, sdr
from unweave.metrics.results import TrackScores, evaluate_sources, summarize
from unweave.metrics.si_sdr import SISDRResult, si_sdr

__all__ = [
    "BSSEvalResult",
    "SISDRResult",
    "TrackScores",
    "evaluate_sources",
    "summarize",
    "bss_eval_images",
    "bss_eval_images_framewise",
    "bss_eval_sources",
    "bss_eval_sources_framewise",
    "bss_eval_v4",
    "framewise_sdr",
    "sdr",
    "si_sdr",
]
