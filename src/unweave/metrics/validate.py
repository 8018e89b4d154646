"""Input checks shared by every metric: one layout, clear messages."""

from __future__ import annotations

import warnings

import numpy as np

from unweave.errors import UnweaveError


def as_sources(array, name: str, single: bool = False) -> np.ndarray:
    """``(sources, channels, samples)`` float64 from ``(sources, channels, samples)``,
    ``(sources, samples)`` or ``(samples,)``; float32 stays float32 when ``single`` (for a
    kernel that converts each block as it reads it, and sums in float64)."""
    a = np.asarray(array)
    # C order: every kernel reads each channel as one contiguous run of samples.
    a = np.ascontiguousarray(a, np.float32 if single and a.dtype == np.float32 else np.float64)
    if a.ndim == 1:
        a = a[None, None]
    elif a.ndim == 2:
        a = a[:, None]
    if a.ndim != 3:
        raise UnweaveError(f"{name} must be (sources, channels, samples); got shape {a.shape}")
    return a


def validate(reference, estimate, single: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Check references and estimates; return both as ``(sources, channels, samples)`` float64
    (float32 ones stay float32 when ``single``: see :func:`as_sources`).

    Shapes must match; arrays that look transposed (more channels than samples) are refused
    with a message that says so; non-finite values are refused.
    """
    ref = as_sources(reference, "reference", single)
    est = as_sources(estimate, "estimate", single)
    for name, a in (("reference", ref), ("estimate", est)):
        if a.size == 0:
            raise UnweaveError(f"nothing to evaluate: {name} has shape {a.shape}")
        if a.shape[1] > a.shape[2]:
            raise UnweaveError(
                f"{name} has shape {a.shape}: more channels than samples; pass "
                "(sources, channels, samples), not (sources, samples, channels)")
        if not np.all(np.isfinite(a)):
            raise UnweaveError(f"{name} contains NaN or infinite values")
    if ref.shape != est.shape:
        raise UnweaveError(f"reference and estimate shapes differ: {ref.shape} vs {est.shape} "
                           "(sources, channels, samples)")
    return ref, est


def silent(sources: np.ndarray) -> np.ndarray:
    """``(sources, ...)`` True where a source is all zeros (as mir_eval: the channel sum is 0)
    over the last axis; ``(S, C, W, T)`` windows give ``(S, W)``."""
    return np.all(sources.sum(axis=1) == 0, axis=-1)


def warn_silent(ref: np.ndarray, est: np.ndarray) -> np.ndarray:
    """Warn about silent sources; return the mask of sources whose scores become NaN."""
    bad = silent(ref) | silent(est)
    if bad.any():
        which = ", ".join(str(i) for i in np.flatnonzero(bad))
        warnings.warn(f"silent reference or estimate for source(s) {which}: their scores are "
                      "NaN (BSS Eval is undefined for a silent signal)", RuntimeWarning,
                      stacklevel=3)
    return bad
