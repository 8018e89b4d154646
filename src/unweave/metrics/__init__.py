"""Separation quality metrics: BSS Eval (v3, v4) and scale-invariant SDR."""

from unweave.metrics.energy import framewise_sdr, sdr

__all__ = ["framewise_sdr", "sdr"]
