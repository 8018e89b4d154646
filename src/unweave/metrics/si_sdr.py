"""Scale-invariant SDR, SIR and SAR (Le Roux, Wisdom, Erdogan & Hershey, "SDR – half-baked or
well done?", ICASSP 2019).

The target is the reference scaled to best fit the estimate, ``a s`` with
``a = <e, s> / |s|^2``: ``SI-SDR = |a s|^2 / |e - a s|^2``. SI-SIR and SI-SAR split the error by
projecting the estimate on all (scaled) references: interference is the part explained by the
other references, artifacts the rest. Channels are concatenated, as for a multichannel image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unweave.metrics.bss_eval import _db
from unweave.metrics.validate import validate, warn_silent


@dataclass
class SISDRResult:
    """``(sources,)`` scores in dB."""

    si_sdr: np.ndarray
    si_sir: np.ndarray
    si_sar: np.ndarray
    zero_mean: bool


def si_sdr(reference, estimate, zero_mean: bool = True) -> SISDRResult:
    """SI-SDR/SI-SIR/SI-SAR of ``estimate[j]`` against ``reference[j]``, ``(S, C, N)`` arrays."""
    ref, est = validate(reference, estimate)
    bad = warn_silent(ref, est)
    if zero_mean:
        ref = ref - ref.mean(axis=-1, keepdims=True)
        est = est - est.mean(axis=-1, keepdims=True)
    s = ref.reshape(ref.shape[0], -1)
    e = est.reshape(est.shape[0], -1)
    gram = s @ s.T
    scale = np.einsum("jn,jn->j", e, s) / np.diag(gram)
    target = scale[:, None] * s
    # Projection of each estimate on the span of all references.
    coef = np.linalg.lstsq(gram, s @ e.T, rcond=None)[0]  # (refs, ests)
    proj = coef.T @ s
    tt = (target**2).sum(axis=1)
    out = (_db(tt, ((e - target) ** 2).sum(axis=1)),
           _db(tt, ((proj - target) ** 2).sum(axis=1)),
           _db(tt, ((e - proj) ** 2).sum(axis=1)))
    for a in out:
        a[bad] = np.nan
    return SISDRResult(*out, zero_mean)
