"""Scores of named sources as data: per-window values, per-source medians, what was measured.

``evaluate_sources`` takes ``{name: (channels, samples)}`` dictionaries (no files); results
serialise to museval's per-track JSON layout and to a long CSV table, and ``summarize`` gives
the median over tracks of per-track medians, as SiSEC reports a data set.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from unweave.errors import UnweaveError
from unweave.metrics.bss_eval import bss_eval_images, bss_eval_v4
from unweave.metrics.si_sdr import si_sdr

METRICS = {
    "v4": ("SDR", "ISR", "SIR", "SAR"),
    "v3": ("SDR", "ISR", "SIR", "SAR"),
    "sisdr": ("SI-SDR", "SI-SIR", "SI-SAR"),
    "pesq": ("PESQ-WB", "PESQ-NB"),
    "stoi": ("STOI",),
}
#: Other names users give.
METRIC_ALIASES = {"si-sdr": "sisdr"}


def parse_metrics(text: str) -> list[str]:
    """``"v4"`` or a comma-separated list (``"si-sdr,pesq,stoi"``) -> metric names."""
    names = [METRIC_ALIASES.get(n.strip().lower(), n.strip().lower())
             for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise UnweaveError(f"unknown metric '{unknown[0] if unknown else text}' (use "
                           f"{', '.join(METRICS)}, or several with commas)")
    if "v4" in names and "v3" in names:
        raise UnweaveError("choose one of v4 and v3 (both name their scores SDR, ISR...)")
    return list(dict.fromkeys(names))


@dataclass
class TrackScores:
    """Scores of one track: ``scores[source][metric]`` is a list over windows (NaN allowed)."""

    name: str
    metric: str
    sample_rate: int
    window: int | None
    hop: int | None
    filter_len: int | None
    scores: dict[str, dict[str, list[float]]]
    missing: list[str] = field(default_factory=list)  # references with no estimate
    extra: list[str] = field(default_factory=list)  # estimates with no reference
    notes: list[str] = field(default_factory=list)

    def medians(self) -> dict[str, dict[str, float]]:
        return {src: {m: _nanmedian(v) for m, v in ms.items()} for src, ms in self.scores.items()}

    def params(self) -> dict:
        return {"metric": self.metric,
                "version": "; ".join(_VERSION[m] for m in parse_metrics(self.metric)),
                "sample_rate": self.sample_rate, "window": self.window, "hop": self.hop,
                "filter_len": self.filter_len}

    def to_museval_json(self) -> dict:
        """museval's per-track layout: targets -> frames (time, duration, metrics)."""
        targets = []
        for src, ms in self.scores.items():
            # Windowed metrics have a value per window, whole-signal ones one (in the first).
            n = max(len(v) for v in ms.values())
            step = (self.hop or 0) / self.sample_rate
            dur = (self.window / self.sample_rate) if self.window else None
            frames = [{"time": i * step, "duration": dur,
                       "metrics": {m: _json_float(v[i]) if i < len(v) else None
                                   for m, v in ms.items()}}
                      for i in range(n)]
            targets.append({"name": src, "frames": frames})
        return {"targets": targets, "unweave": {**self.params(), "track": self.name,
                                                "missing": self.missing, "extra": self.extra,
                                                "notes": self.notes}}

    def csv_rows(self) -> list[dict]:
        rows = []
        for src, ms in self.scores.items():
            for m, values in ms.items():
                for i, v in enumerate(values):
                    rows.append({"track": self.name, "target": src, "metric": m,
                                 "window": i, "score": v})
        return rows


_VERSION = {"v4": "BSS Eval v4 (museval, images, time-invariant filters)",
            "v3": "BSS Eval v3 (mir_eval bss_eval_images, whole signal)",
            "sisdr": "SI-SDR (Le Roux et al. 2019)",
            "pesq": "PESQ (ITU-T P.862.2 wide-band at 16 kHz, P.862 narrow-band at 8 kHz)",
            "stoi": "STOI (Taal et al. 2011)"}


def _nanmedian(values) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(np.asarray(values, float))) if len(values) else math.nan


def _json_float(v):
    return None if v is None or not math.isfinite(v) else round(float(v), 5)


def match_sources(references: dict, estimates: dict) -> tuple[list[str], list[str], list[str]]:
    """Names in both, references with no estimate, estimates with no reference."""
    common = [n for n in references if n in estimates]
    missing = [n for n in references if n not in estimates]
    extra = [n for n in estimates if n not in references]
    if not common:
        raise UnweaveError(f"no estimate matches a reference: references {sorted(references)}, "
                           f"estimates {sorted(estimates)}")
    return common, missing, extra


def evaluate_sources(references: dict[str, np.ndarray], estimates: dict[str, np.ndarray],
                     sample_rate: int, metric: str = "v4", window_seconds: float = 1.0,
                     hop_seconds: float = 1.0, name: str = "track") -> TrackScores:
    """Score estimates against references with the same names, all ``(channels, samples)``.

    Estimates longer or shorter than their reference are cut or zero-padded (as museval).
    ``metric``: "v4" (default, windows of ``window_seconds``), "v3" (whole signal), "sisdr",
    "pesq", "stoi", or several of them with commas (one value per source for all but v4).
    """
    metrics = parse_metrics(metric)
    if window_seconds <= 0 or hop_seconds <= 0:
        raise UnweaveError("window and hop must be > 0 seconds")
    common, missing, extra = match_sources(references, estimates)
    notes = []
    shapes = {np.shape(references[n]) for n in common}
    if len(shapes) != 1:
        raise UnweaveError(f"references differ in shape: {sorted(shapes)} (channels, samples)")
    # One copy of each, straight into (sources, channels, samples), C order; float32 when every
    # input is (BSS Eval v4 converts block by block; the other metrics convert themselves).
    single = all(np.asarray(a).dtype == np.float32 for a in (*references.values(),
                                                               *estimates.values()))
    ref = np.empty((len(common), *shapes.pop()), np.float32 if single else np.float64)
    for i, n in enumerate(common):
        ref[i] = references[n]
    est = np.zeros(ref.shape, ref.dtype)
    for i, n in enumerate(common):
        e = np.asarray(estimates[n])
        if e.ndim != 2 or e.shape[0] != ref.shape[1]:
            raise UnweaveError(f"source '{n}': estimate has {e.shape[0]} channels, reference "
                               f"{ref.shape[1]}")
        if e.shape[-1] != ref.shape[-1]:
            notes.append(f"{n}: estimate length {e.shape[-1]} fitted to reference "
                         f"{ref.shape[-1]} samples")
        m = min(e.shape[-1], ref.shape[-1])
        est[i, :, :m] = e[:, :m]  # cut or zero-padded, as museval
    window = hop = filter_len = None
    values: dict[str, np.ndarray] = {}
    for m in metrics:
        if m == "v4":
            window = int(min(window_seconds, 1e6) * sample_rate)  # past the track: one window
            hop, filter_len = int(min(hop_seconds, 1e6) * sample_rate), 512
            if window < 1 or hop < 1:
                raise UnweaveError(f"window and hop must be at least one sample "
                                   f"(1/{sample_rate} s)")
            r = bss_eval_v4(ref, est, window=window, hop=hop)
            values.update({"SDR": r.sdr, "ISR": r.isr, "SIR": r.sir, "SAR": r.sar})
        elif m == "v3":
            filter_len = 512
            r = bss_eval_images(ref, est, compute_permutation=False)
            values.update({"SDR": r.sdr, "ISR": r.isr, "SIR": r.sir, "SAR": r.sar})
        elif m == "sisdr":
            r = si_sdr(ref, est)
            values.update({"SI-SDR": r.si_sdr[:, None], "SI-SIR": r.si_sir[:, None],
                           "SI-SAR": r.si_sar[:, None]})
        elif m == "pesq":
            from unweave.metrics.speech import pesq_scores

            scores = [pesq_scores(ref[j], est[j], sample_rate) for j in range(len(common))]
            for key in METRICS["pesq"]:
                values[key] = np.array([[s[key]] for s in scores])
        else:
            from unweave.metrics.speech import stoi_score

            values["STOI"] = np.array([[stoi_score(ref[j], est[j], sample_rate)]
                                       for j in range(len(common))])
    scores = {n: {m: [float(x) for x in np.atleast_1d(v[j])] for m, v in values.items()}
              for j, n in enumerate(common)}
    return TrackScores(name, ",".join(metrics), sample_rate, window, hop, filter_len, scores,
                       missing, extra, notes)


def summarize(tracks: list[TrackScores]) -> dict[str, dict[str, float]]:
    """Per source and metric: the median over tracks of each track's median (SiSEC)."""
    table: dict[str, dict[str, list[float]]] = {}
    for t in tracks:
        for src, ms in t.medians().items():
            for m, v in ms.items():
                table.setdefault(src, {}).setdefault(m, []).append(v)
    return {src: {m: _nanmedian(v) for m, v in ms.items()} for src, ms in table.items()}


def format_table(medians: dict[str, dict[str, float]], title: str = "") -> str:
    """A plain text table of ``{row: {metric: value}}``."""
    if not medians:
        return title
    metrics = list(next(iter(medians.values())))
    width = max(len(r) for r in medians) + 2
    lines = [title] if title else []
    lines.append("source".ljust(width) + "".join(m.rjust(9) for m in metrics))
    for row, ms in medians.items():
        lines.append(row.ljust(width) + "".join(f"{ms.get(m, math.nan):9.2f}" for m in metrics))
    return "\n".join(lines)


def to_csv(tracks: list[TrackScores]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, ["track", "target", "metric", "window", "score"])
    writer.writeheader()
    for t in tracks:
        writer.writerows(t.csv_rows())
    return buf.getvalue()


def to_json(tracks: list[TrackScores]) -> str:
    """One museval-style document per track (a list when there are several)."""
    docs = [t.to_museval_json() for t in tracks]
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=1)
