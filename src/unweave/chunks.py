"""Where long audio is cut: overlapping chunks and the cross-fades that join them.

Pure functions on sample counts, shared by the in-memory chunking engine
(:mod:`unweave.methods.chunking`), block-wise file separation (:mod:`unweave.blockwise`) and
network inference (:mod:`unweave.nn.apply`). Neighbouring chunks overlap by ``overlap``
samples and are blended with complementary linear ramps (they sum to one), so seams do not
click.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def chunk_plan(length: int, sample_rate: int, chunk_seconds: float, overlap_seconds: float
               ) -> tuple[int, int, list[int]]:
    """``(chunk, overlap, starts)`` in samples for ``length`` samples. The cross-fade is at most
    a quarter of a chunk, so overlapping costs at most a third more work."""
    chunk = max(int(chunk_seconds * sample_rate), 1)
    overlap = min(int(overlap_seconds * sample_rate), chunk // 4)
    return chunk, overlap, chunk_starts(length, chunk, overlap)


def chunk_starts(length: int, chunk: int, overlap: int) -> list[int]:
    """Start samples of chunks of ``chunk`` samples overlapping by ``overlap`` that cover
    ``length`` samples (the last chunk may be shorter)."""
    if length <= chunk:
        return [0]
    step = chunk - overlap
    return list(range(0, length - overlap, step))


#: The most values (channels x samples) one chunk may hold: a minute of 48 kHz stereo. Files
#: with more channels or a higher rate get shorter chunks, so memory stays bounded.
MAX_CHUNK_VALUES = 2 * 48_000 * 60


def chunk_seconds_for(chunk_seconds: float, sample_rate: int, channels: int) -> float:
    """``chunk_seconds``, shortened so a chunk holds at most :data:`MAX_CHUNK_VALUES` values."""
    return min(chunk_seconds, MAX_CHUNK_VALUES / (max(channels, 1) * sample_rate))


def crossfade(n: int, fade_in: int, fade_out: int) -> np.ndarray:
    """``(n,)`` float32 weights of a chunk: a linear ramp up over ``fade_in`` samples, down
    over the last ``fade_out``; a ramp and the next chunk's ramp sum to one."""
    weight = np.ones(n, np.float32)
    if fade_in:
        weight[:fade_in] = np.linspace(0, 1, fade_in + 2, dtype=np.float32)[1:-1]
    if fade_out:
        weight[n - fade_out :] = np.linspace(1, 0, fade_out + 2, dtype=np.float32)[1:-1]
    return weight


def best_order(previous: np.ndarray, current: np.ndarray) -> list[int]:
    """How to reorder ``current``'s sources to continue ``previous``'s, both ``(S, ...)`` over
    the same samples (an overlap between chunks): the permutation that maximises the summed
    inner products (every permutation up to 6 sources, the Hungarian algorithm beyond). Inner
    products, not correlations: a source silent in the overlap weighs nothing, and the loud
    ones decide. ``current[order[j]]`` continues ``previous[j]``."""
    import itertools

    s = previous.shape[0]
    p = previous.reshape(s, -1).astype(np.float64)
    c = current.reshape(s, -1).astype(np.float64)
    score = p @ c.T  # (previous, current)
    if s <= 6:
        best = max(itertools.permutations(range(s)),
                   key=lambda perm: sum(score[j, perm[j]] for j in range(s)))
        return list(best)
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-score)
    return [int(c) for _, c in sorted(zip(rows, cols))]


def continue_order(tail: dict[str, np.ndarray] | None, sources: dict[str, np.ndarray],
                   overlap: int, voices: Voices | None = None) -> dict[str, np.ndarray]:
    """``sources`` renamed so that each continues the previous chunk's source of its name,
    whose last ``overlap`` samples are ``tail`` (None: the first chunk, unchanged); with
    ``voices``, the talkers' profiles so far decide when they can (:class:`Voices`)."""
    names = list(sources)
    values = [sources[n] for n in names]
    order = list(range(len(names)))  # after a silent chunk: nothing to match but the voices
    if tail and list(tail) == names:
        order = best_order(np.stack([tail[n] for n in names]),
                           np.stack([v[..., :overlap] for v in values]))
    if voices is not None:
        order = voices.follow(np.stack(values), order)
    return {n: values[j] for n, j in zip(names, order, strict=True)}


def talker_profiles(sources: np.ndarray, sample_rate: int, dominance: float = 4.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """What each separated talker sounds like: sums ``(S, D)`` of the mel-cepstrum
    (:func:`unweave.tracing.cepstra`: level-free) over the frames where that source dominates
    (``dominance`` times the others' energy together), and the number of those frames
    ``(S,)``. Sums, so that segments can be pooled. ``sources`` is ``(S, ..., samples)``
    (channels averaged).

    A long-term spectral envelope is a crude speaker signature, but over seconds of speech it
    tells two voices apart where an overlap of silence cannot."""
    from unweave.tracing import cepstra, dominant_frames

    features, level, _ = cepstra(sources, sample_rate)
    if level.shape[1] == 0:
        return np.zeros((sources.shape[0], features.shape[-1])), np.zeros(sources.shape[0])
    dominant = dominant_frames(level, dominance)
    sums = np.einsum("st,std->sd", dominant.astype(np.float64), features)
    return sums, dominant.sum(axis=1).astype(np.float64)


def profile_order(previous: np.ndarray, current: np.ndarray) -> tuple[list[int], float]:
    """How to reorder ``current``'s sources to match ``previous``'s, both ``(S, B)`` mean
    profiles (:func:`talker_profiles`): the permutation that maximises the summed cosine
    similarity of the profiles (centred over the sources, so only what differs between the
    talkers counts), and its margin over the next best permutation (0 to 2 per source:
    how sure it is). ``current[order[j]]`` continues ``previous[j]``."""
    import itertools

    def centred(p):
        p = p - p.mean(axis=0, keepdims=True)
        return p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)

    sim = centred(previous) @ centred(current).T
    s = sim.shape[0]
    if s > 6:  # (talkers: 2 or 3) no decision: the caller keeps its other evidence
        return list(range(s)), 0.0
    ranked = sorted(itertools.permutations(range(s)),
                    key=lambda perm: -sum(sim[j, perm[j]] for j in range(s)))
    best = ranked[0]
    score = sum(sim[j, best[j]] for j in range(s))
    second = sum(sim[j, ranked[1][j]] for j in range(s)) if len(ranked) > 1 else score
    return list(best), float(score - second) / s


@dataclass
class Voices:
    """The talkers' voice profiles pooled over the chunks so far, in output order: what keeps
    each talker on one output across a long recording.

    Over a pause, the overlap between two chunks holds nothing to match, and a talker who
    starts a turn there can land on either output. When the profiles so far and the new
    chunk's both rest on at least ``frames`` dominant frames per talker (120: about 2 s of
    speech), and their best permutation beats the next by ``margin``, the profiles decide."""

    sample_rate: int
    frames: int = 120
    margin: float = 0.2
    sums: np.ndarray | None = None
    counts: np.ndarray | None = None

    def follow(self, sources: np.ndarray, fallback: list[int] | None) -> list[int]:
        """The order of a new chunk's ``sources`` ``(S, ..., samples)``: by voice when sure,
        else ``fallback`` (None: as they are, without asking the voices); the chunk's profiles
        are then pooled in that order."""
        sums, counts = talker_profiles(sources, self.sample_rate)
        order = list(range(len(sources))) if fallback is None else fallback
        if fallback is not None and self.sums is not None and \
                min(self.counts.min(), counts.min()) >= self.frames:
            by_voice, margin = profile_order(self.sums / self.counts[:, None],
                                             sums / counts[:, None])
            if margin >= self.margin:
                order = by_voice
        sums, counts = sums[order], counts[order]
        if self.sums is None:
            self.sums, self.counts = sums, counts
        else:
            self.sums, self.counts = self.sums + sums, self.counts + counts
        return order
