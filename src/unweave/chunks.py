"""Where long audio is cut: overlapping chunks and the cross-fades that join them.

Pure functions on sample counts, shared by the in-memory chunking engine
(:mod:`unweave.methods.chunking`), block-wise file separation (:mod:`unweave.blockwise`) and
network inference (:mod:`unweave.nn.apply`). Neighbouring chunks overlap by ``overlap``
samples and are blended with complementary linear ramps (they sum to one), so seams do not
click.
"""

from __future__ import annotations

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
                   overlap: int) -> dict[str, np.ndarray]:
    """``sources`` renamed so that each continues the previous chunk's source of its name,
    whose last ``overlap`` samples are ``tail`` (None: the first chunk, unchanged)."""
    if not tail or list(tail) != list(sources):
        return sources
    names = list(sources)
    values = [sources[n] for n in names]
    order = best_order(np.stack([tail[n] for n in names]),
                       np.stack([v[..., :overlap] for v in values]))
    return {n: values[j] for n, j in zip(names, order)}
