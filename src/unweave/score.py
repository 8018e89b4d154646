"""Musical scores for score-informed separation: MIDI reading, chroma features, alignment.

- MIDI files are read with ``mido`` (tempo changes honoured), one note list per track.
- The score is aligned to the audio by dynamic time warping of chroma features (Müller,
  "Fundamentals of Music Processing", ch. 3), with step sizes (1,1), (1,2), (2,1) so the path
  cannot stall; or taken from a given alignment file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unweave.errors import UnweaveError


@dataclass(frozen=True)
class Note:
    """A score note: ``onset``/``offset`` in seconds (score time), MIDI ``pitch``, ``track``."""

    onset: float
    offset: float
    pitch: int
    track: int


@dataclass
class Score:
    notes: list[Note]
    track_names: list[str]  # one per track that has notes, in track order

    @property
    def n_tracks(self) -> int:
        return len(self.track_names)

    def duration(self) -> float:
        return max(n.offset for n in self.notes)


def read_midi(path: str | Path) -> Score:
    """Notes of every track of a MIDI file that has notes; tracks renumbered from 0."""
    import mido

    path = Path(path)
    if not path.is_file():
        raise UnweaveError(f"{path}: no such MIDI file")
    try:
        midi = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise UnweaveError(f"{path}: not a readable MIDI file ({exc})") from None
    if midi.type == 2:
        raise UnweaveError(f"{path}: MIDI type 2 (independent sequences) is not supported")
    tempo_map = _tempo_map(midi)
    notes: list[Note] = []
    names: list[str] = []
    for track in midi.tracks:
        ticks, active, found = 0, {}, []
        name = next((m.name for m in track if m.type == "track_name"), "")
        for msg in track:
            ticks += msg.time
            if msg.type not in ("note_on", "note_off"):
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                active.setdefault(key, []).append(ticks)
            elif active.get(key):
                start = active[key].pop(0)
                found.append((start, ticks, msg.note))
        if found:
            index = len(names)
            names.append(name.strip() or f"track_{index + 1}")
            for start, stop, pitch in found:
                notes.append(Note(tempo_map(start), tempo_map(stop), pitch, index))
    if not notes:
        raise UnweaveError(f"{path}: the MIDI file has no notes")
    return Score(sorted(notes, key=lambda n: (n.onset, n.track)), names)


def _tempo_map(midi):
    """Ticks -> seconds, with every ``set_tempo`` of the file (type 0/1: a global map)."""
    changes = []
    for track in midi.tracks:
        ticks = 0
        for msg in track:
            ticks += msg.time
            if msg.type == "set_tempo":
                changes.append((ticks, msg.tempo))
    changes = sorted(changes) or [(0, 500000)]
    if changes[0][0] != 0:
        changes.insert(0, (0, 500000))
    starts = np.array([c[0] for c in changes], float)
    tempos = np.array([c[1] for c in changes], float)
    per_tick = tempos / 1e6 / midi.ticks_per_beat
    seconds_at = np.concatenate([[0.0], np.cumsum(np.diff(starts) * per_tick[:-1])])

    def to_seconds(tick: float) -> float:
        i = int(np.searchsorted(starts, tick, side="right") - 1)
        return float(seconds_at[i] + (tick - starts[i]) * per_tick[i])

    return to_seconds


def midi_hz(pitch) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(pitch, float) - 69) / 12)


def audio_chroma(magnitude: np.ndarray, freqs: np.ndarray, fmin: float = 55.0,
                 fmax: float = 5000.0) -> np.ndarray:
    """Chroma ``(12, frames)`` of a magnitude spectrogram ``(freqs, frames)``: energy summed per
    pitch class (bins between ``fmin`` and ``fmax``), log-compressed, unit norm per frame."""
    band = (freqs >= fmin) & (freqs <= fmax)
    pitch_class = np.round(12 * np.log2(freqs[band] / 440.0) + 69).astype(int) % 12
    onehot = np.zeros((12, band.sum()))
    onehot[pitch_class, np.arange(band.sum())] = 1
    return _normalise(np.log1p(100 * onehot @ magnitude[band] ** 2))


def score_chroma(score: Score, frame_times: np.ndarray) -> np.ndarray:
    """Chroma ``(12, frames)`` of the score sampled at ``frame_times`` (score seconds)."""
    chroma = np.zeros((12, len(frame_times)))
    for n in score.notes:
        on = (frame_times >= n.onset) & (frame_times < n.offset)
        chroma[n.pitch % 12, on] += 1
    return _normalise(chroma)


def _normalise(chroma: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(chroma, axis=0, keepdims=True)
    return np.where(norm > 0, chroma / np.maximum(norm, 1e-12), 1 / np.sqrt(12))


def dtw(cost: np.ndarray) -> np.ndarray:
    """Optimal path ``(steps, 2)`` through ``cost`` ``(N, M)`` from (0, 0) to (N-1, M-1) with
    steps (1,1), (1,2), (2,1); rows are computed as whole vectors."""
    n, m = cost.shape
    acc = np.full((n, m), np.inf)
    step = np.zeros((n, m), np.int8)
    acc[0, 0] = cost[0, 0]
    for i in range(1, n):
        cands = np.full((3, m), np.inf)
        cands[0, 1:] = acc[i - 1, :-1]  # (1, 1)
        cands[1, 2:] = acc[i - 1, :-2]  # (1, 2)
        if i >= 2:
            cands[2, 1:] = acc[i - 2, :-1]  # (2, 1)
        best = np.argmin(cands, axis=0)
        acc[i] = cost[i] + cands[best, np.arange(m)]
        step[i] = best
    if not np.isfinite(acc[-1, -1]):
        raise UnweaveError("score and audio lengths are too different to align")
    path, i, j = [(n - 1, m - 1)], n - 1, m - 1
    moves = {0: (1, 1), 1: (1, 2), 2: (2, 1)}
    while (i, j) != (0, 0):
        di, dj = moves[int(step[i, j])]
        i, j = i - di, j - dj
        path.append((i, j))
    return np.array(path[::-1])


def align_score(score: Score, magnitude: np.ndarray, freqs: np.ndarray, hop_seconds: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """DTW alignment: pairs ``(score_seconds, audio_seconds)`` along the path."""
    # Align what sounds with what is written: the audio between its first and last frames
    # within 40 dB of the loudest, the score between its first onset and last offset.
    energy = (magnitude**2).sum(axis=0)
    loud = np.flatnonzero(energy > 1e-4 * energy.max())
    first, last = loud[0], loud[-1] + 1
    audio = audio_chroma(magnitude[:, first:last], freqs)
    start = min(n.onset for n in score.notes)
    times = start + np.arange(int(np.ceil((score.duration() - start) / hop_seconds)) + 1) \
        * hop_seconds
    ref = score_chroma(score, times)
    path = dtw(1 - audio.T @ ref)  # cosine distance, (audio frames, score frames)
    return times[path[:, 1]], (first + path[:, 0]) * hop_seconds


def read_alignment(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(score_seconds, audio_seconds)`` from a text file whose rows start with the
    audio time and the score time in milliseconds (the Bach10 ``.txt`` layout)."""
    try:
        rows = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as exc:
        raise UnweaveError(f"{path}: not an alignment file ({exc})") from None
    if rows.shape[1] < 2:
        raise UnweaveError(f"{path}: an alignment needs two columns (audio ms, score ms)")
    audio, score_t = rows[:, 0] / 1000, rows[:, 1] / 1000
    order = np.argsort(score_t)
    return score_t[order], audio[order]


def warp(score: Score, score_times: np.ndarray, audio_times: np.ndarray) -> Score:
    """The score with note times mapped to audio time (piecewise linear, extrapolated at the
    ends with slope 1)."""
    s, a = _monotone(score_times, audio_times)

    def f(t):
        if t <= s[0]:
            return a[0] + (t - s[0])
        if t >= s[-1]:
            return a[-1] + (t - s[-1])
        return float(np.interp(t, s, a))

    return Score([Note(f(n.onset), f(n.offset), n.pitch, n.track) for n in score.notes],
                 score.track_names)


def _monotone(s, a):
    """Unique score times (mean audio time for repeats)."""
    uniq, inverse = np.unique(s, return_inverse=True)
    audio = np.bincount(inverse, weights=a) / np.bincount(inverse)
    return uniq, audio
