"""Score-informed separation: a MIDI score constrains a harmonic NMF model, one source per track.

Ewert, Pardo, Müller & Plumbley, "Score-informed source separation for musical audio
recordings: an overview", IEEE Signal Processing Magazine 31(3), 2014 (and Ewert & Müller,
ICASSP 2012). The score is aligned to the audio (chroma + DTW, or a given alignment); every
(track, pitch) gets a harmonic template, non-zero only around the pitch's partials, and an
activation that is non-zero only while the aligned score plays that note (widened by
``tolerance`` seconds). Multiplicative NMF updates keep those zeros, so the model can only
explain a bin with notes the score allows there; Wiener-like masks of each track's model then
split the mixture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unweave.errors import UnweaveError
from unweave.masking import ratio_masks
from unweave.methods.base import Assumptions, Separation, Separator, register
from unweave.methods.iterative import check_iterations
from unweave.methods.nmf import nmf
from unweave.score import Score, align_score, midi_hz, read_alignment, read_midi, warp
from unweave.spectral import STFTConfig, istft, stft


def harmonic_templates(pitches: list[int], freqs: np.ndarray, n_partials: int = 20,
                       width_cents: float = 50.0) -> np.ndarray:
    """``(freqs, len(pitches))``: amplitude ``1/h`` within ``width_cents`` of partial ``h``,
    exactly zero elsewhere; the bin nearest each partial is always included."""
    out = np.zeros((len(freqs), len(pitches)))
    positive = freqs > 0
    for k, pitch in enumerate(pitches):
        f0 = midi_hz(pitch)
        for h in range(1, n_partials + 1):
            if h * f0 >= freqs[-1]:
                break
            cents = np.full(freqs.shape, np.inf)
            cents[positive] = np.abs(1200 * np.log2(freqs[positive] / (h * f0)))
            near = cents <= width_cents
            near[np.argmin(np.abs(freqs - h * f0))] = True
            out[near, k] = np.maximum(out[near, k], 1.0 / h)
    return out


def score_activations(score: Score, keys: list[tuple[int, int]], frame_times: np.ndarray,
                      tolerance: float) -> np.ndarray:
    """``(len(keys), frames)``: 1 where (track, pitch) ``keys[k]`` may sound, else 0."""
    index = {key: k for k, key in enumerate(keys)}
    act = np.zeros((len(keys), len(frame_times)))
    for n in score.notes:
        on = (frame_times >= n.onset - tolerance) & (frame_times <= n.offset + tolerance)
        act[index[(n.track, n.pitch)], on] = 1.0
    return act


@register
@dataclass
class ScoreInformed(Separator):
    """Score-informed NMF separation (Ewert et al. 2014): one source per MIDI track.

    ``score``: the MIDI file; ``alignment``: "dtw" (chroma DTW), "none" (score times are audio
    times) or a text file of (audio ms, score ms) rows (the Bach10 layout); ``names``: comma-
    separated source names, one per track with notes (default: the tracks' names).

    >>> ScoreInformed(score="piece.mid", names="violin,clarinet,saxophone,bassoon")(mix, 44100)
    ... # doctest: +SKIP
    """

    score: str = ""
    alignment: str = "dtw"
    names: str = ""
    tolerance: float = 0.2
    n_iter: int = 50
    mask_power: float = 2.0
    seed: int = 0
    n_fft: int = 4096
    hop: int = 1024

    name = "score"
    summary = "score-informed NMF: a MIDI score constrains harmonic templates"
    reference = "Ewert, Pardo, Mueller & Plumbley, IEEE Signal Processing Magazine 31(3), 2014"
    assumptions = Assumptions(content="music (pitched, with a score)", needs_score=True)

    def __post_init__(self):
        if not self.score:
            raise UnweaveError("method 'score' needs a MIDI file: --score FILE.mid")
        check_iterations(self.n_iter, minimum=0)
        if self.tolerance < 0:
            raise UnweaveError("need tolerance >= 0")
        self._score = read_midi(self.score)
        names = [n.strip() for n in self.names.split(",")] if self.names else \
            self._score.track_names
        if len(names) != self._score.n_tracks:
            raise UnweaveError(f"{len(names)} names given for {self._score.n_tracks} tracks with "
                               f"notes in {self.score} ({', '.join(self._score.track_names)})")
        if len(set(names)) != len(names) or not all(names):
            raise UnweaveError(f"source names must be distinct and non-empty: {names}")
        self._names = names
        if self.alignment not in ("dtw", "none"):
            self._pairs = read_alignment(self.alignment)

    def separate(self, mixture, sample_rate, **inputs):
        config = STFTConfig(self.n_fft, self.hop)
        spec = stft(mixture, config)
        magnitude = np.abs(spec).mean(axis=0)
        freqs = config.freqs(sample_rate)
        hop_s = config.hop / sample_rate
        if self.alignment == "dtw":
            aligned = warp(self._score, *align_score(self._score, magnitude, freqs, hop_s))
        elif self.alignment == "none":
            aligned = self._score
        else:
            aligned = warp(self._score, *self._pairs)
        keys = sorted({(n.track, n.pitch) for n in aligned.notes})
        w = harmonic_templates([p for _, p in keys], freqs)
        h = score_activations(aligned, keys, np.arange(magnitude.shape[1]) * hop_s,
                              self.tolerance) * max(float(magnitude.mean()), 1e-9)
        w, h, history = nmf(magnitude, len(keys), beta=1.0, n_iter=self.n_iter, seed=self.seed,
                            init=(w, h))
        tracks = np.array([t for t, _ in keys])
        models = np.stack([w[:, tracks == t] @ h[tracks == t] for t in range(len(self._names))])
        masks = ratio_masks(models, self.mask_power).astype(np.float32)
        length = mixture.shape[-1]
        sources = {n: istft(spec * m, config, length) for n, m in zip(self._names, masks)}
        return Separation(sources, sample_rate, dict(zip(self._names, masks)),
                          {"history": history, "notes": len(aligned.notes)})
