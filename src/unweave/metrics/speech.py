"""Speech quality and intelligibility of estimates, with the well-kept reference packages:

- PESQ (ITU-T P.862; ``pesq`` package): wide-band (P.862.2) at 16 kHz and narrow-band at
  8 kHz; other rates are resampled (soxr) to those; a mean opinion score from -0.5 to 4.5;
- STOI (Taal et al., IEEE TASLP 19(7), 2011; ``pystoi`` package): 0 to 1.

Signals ``(channels, samples)``; the score of several channels is their mean. A signal PESQ
cannot score (no utterance found, too short) gives NaN.
"""

from __future__ import annotations

import numpy as np

from unweave.audio import resample
from unweave.errors import UnweaveError


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UnweaveError(f"the {module} metric needs the '{module}' package: pip install "
                           "pesq pystoi (or unweave[speech])") from None


def pesq_scores(reference: np.ndarray, estimate: np.ndarray, sample_rate: int
                ) -> dict[str, float]:
    """``{"PESQ-WB": ..., "PESQ-NB": ...}`` of ``estimate`` against ``reference``."""
    pesq = _need("pesq")
    out = {}
    for label, rate, mode in (("PESQ-WB", 16000, "wb"), ("PESQ-NB", 8000, "nb")):
        ref = resample(np.asarray(reference, np.float64), sample_rate, rate)
        est = resample(np.asarray(estimate, np.float64), sample_rate, rate)
        values = []
        for r, e in zip(ref, est):
            try:
                values.append(float(pesq.pesq(rate, r, e, mode)))
            except Exception:  # noqa: BLE001 - pesq raises its own kinds for unusable input
                values.append(float("nan"))
        out[label] = float(np.mean(values))
    return out


def stoi_score(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Short-time objective intelligibility of ``estimate``, 0..1 (mean over channels)."""
    stoi = _need("pystoi")
    return float(np.mean([stoi.stoi(np.asarray(r, np.float64), np.asarray(e, np.float64),
                                     sample_rate) for r, e in zip(reference, estimate)]))
