"""``unweave evaluate``: find reference and estimate tracks on disk and score them.

A track is a folder of ``<source>.<ext>`` files (as ``unweave separate`` writes, or a MUSDB
track folder; a ``mixture`` file is not a source) or a ``.stem.mp4``. A data set is a folder of
tracks; estimates are matched to references by track name, then by source name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unweave.audio import AUDIO_FILE_SUFFIXES, is_stem_file, read_audio, read_sources
from unweave.errors import UnweaveError
from unweave.metrics.results import TrackScores, evaluate_sources
from unweave.paths import track_name


@dataclass
class TrackPair:
    name: str
    reference: Path
    estimate: Path | None  # None: no estimate folder for this track


def _is_track(path: Path) -> bool:
    if is_stem_file(path):
        return True
    # A folder of .stem.mp4 files is a data set (MUSDB18's test/), not one track.
    return path.is_dir() and any(p.suffix.lower() in AUDIO_FILE_SUFFIXES and p.is_file()
                                 and not is_stem_file(p) for p in path.iterdir())


def find_tracks(reference: Path, estimate: Path) -> list[TrackPair]:
    """One pair for a single track, or one per track of a data set."""
    for p, what in ((reference, "reference"), (estimate, "estimate")):
        if not p.exists():
            raise UnweaveError(f"{p}: no such {what} folder or file")
    if _is_track(reference):
        return [TrackPair(track_name(reference) if reference.is_file() else reference.name,
                          reference, estimate)]
    tracks = sorted(p for p in reference.iterdir() if not p.name.startswith(".") and _is_track(p))
    if not tracks:
        raise UnweaveError(f"{reference}: holds neither source files nor track folders")
    pairs = []
    for t in tracks:
        name = track_name(t) if t.is_file() else t.name
        est = estimate / name
        pairs.append(TrackPair(name, t, est if est.exists() else None))
    return pairs


def _with_derived(references: dict[str, np.ndarray], wanted: list[str]) -> dict:
    """Add ``accompaniment`` (everything but the vocals) when an estimate asks for it."""
    refs = dict(references)
    if "accompaniment" in wanted and "accompaniment" not in refs and "vocals" in refs:
        refs["accompaniment"] = sum(v for k, v in references.items() if k != "vocals")
    return refs


def _mixture_of(track: Path, references: dict[str, np.ndarray], rate: int) -> np.ndarray:
    if is_stem_file(track):
        return read_audio(track)[0]
    for f in sorted(track.iterdir()):
        if f.stem.lower() == "mixture" and f.suffix.lower() in AUDIO_FILE_SUFFIXES:
            mix, mix_rate = read_audio(f)
            if mix_rate == rate and mix.shape[-1] >= next(iter(references.values())).shape[-1]:
                return mix[:, : next(iter(references.values())).shape[-1]]
    return sum(references.values())


def best_assignment(references: dict[str, np.ndarray], estimates: dict[str, np.ndarray]
                    ) -> dict[str, np.ndarray]:
    """``estimates`` renamed after the references they fit best: the assignment with the
    highest total SI-SDR (Hungarian algorithm), for sources without fixed names (talkers,
    blind separation). Estimates left over keep their names."""
    from scipy.optimize import linear_sum_assignment

    from unweave.metrics.si_sdr import si_sdr

    rnames, enames = list(references), list(estimates)
    n = min(len(rnames), len(enames))
    score = np.zeros((len(rnames), len(enames)))
    for i, r in enumerate(rnames):
        for j, e in enumerate(enames):
            ref, est = np.asarray(references[r], float), np.asarray(estimates[e], float)
            m = min(ref.shape[-1], est.shape[-1])
            if ref.shape[0] == est.shape[0]:
                score[i, j] = np.nan_to_num(si_sdr(ref[None, :, :m], est[None, :, :m]).si_sdr[0],
                                            nan=-1e3)
    rows, cols = linear_sum_assignment(-score)
    out = {rnames[i]: estimates[enames[j]] for i, j in zip(rows[:n], cols[:n])}
    out.update({e: estimates[e] for e in enames if e not in out and estimates[e] is not None
                and e not in {enames[j] for j in cols[:n]}})
    return out


def with_improvement(scores: TrackScores, references: dict[str, np.ndarray],
                     mixture: np.ndarray) -> None:
    """Add ``SI-SDRi`` (the estimate's SI-SDR minus the mixture's, per source) next to
    ``SI-SDR``."""
    from unweave.metrics.si_sdr import si_sdr

    for name, metrics in scores.scores.items():
        if "SI-SDR" in metrics:
            ref = np.asarray(references[name], float)
            base = si_sdr(ref[None], mixture[None, :, : ref.shape[-1]].astype(float)).si_sdr[0]
            metrics["SI-SDRi"] = [v - float(base) for v in metrics["SI-SDR"]]


def evaluate_pair(pair: TrackPair, metric: str, window: float, hop: float,
                  baselines: tuple[str, ...] = (), permutation: bool = False
                  ) -> dict[str, TrackScores]:
    """Scores of the estimates (key ``"estimate"``) and of each requested baseline method.

    ``permutation``: estimates are matched to references by the best SI-SDR assignment, not
    by name. With SI-SDR, the improvement over the mixture (``SI-SDRi``) is added."""
    if pair.estimate is None:
        raise UnweaveError(f"track '{pair.name}': no estimates found")
    originals, rate = read_sources(pair.reference)
    ests, est_rate = read_sources(pair.estimate)
    if est_rate != rate:
        raise UnweaveError(f"track '{pair.name}': estimates are at {est_rate} Hz, references "
                           f"at {rate} Hz")
    refs = _with_derived(originals, list(ests))
    if permutation:
        ests = best_assignment(originals, ests)
    out = {"estimate": evaluate_sources(refs, ests, rate, metric, window, hop, pair.name)}
    if "SI-SDR" in next(iter(out["estimate"].scores.values())) and len(originals) > 1:
        # (one source alone is its own mixture: no improvement to speak of)
        with_improvement(out["estimate"], refs, _mixture_of(pair.reference, originals, rate))
    if "accompaniment" in refs and "accompaniment" not in originals:
        # The stems the accompaniment was made of are evaluated through it.
        out["estimate"].missing = [n for n in out["estimate"].missing if n == "vocals"]
    if baselines:
        from unweave.methods import get_method

        chosen = {n: refs[n] for n in refs if n in ests}
        # The oracles need sources that add up to the mixture: the rest goes in one more.
        mixture = _mixture_of(pair.reference, originals, rate)
        rest = mixture - sum(chosen.values())
        oracle_refs = dict(chosen)
        if np.any(np.abs(rest) > 1e-4):
            oracle_refs["_rest"] = rest
        for method in baselines:
            sep = get_method(method)()(mixture, rate, references=oracle_refs)
            out[method] = evaluate_sources(chosen, {n: sep[n] for n in chosen}, rate, metric,
                                           window, hop, pair.name)
            if "SI-SDR" in next(iter(out[method].scores.values())):
                with_improvement(out[method], refs, mixture)
    return out
