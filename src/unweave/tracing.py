"""Talker tracing: keeping each talker on one output within a separated recording.

A permutation-invariant separator (Conv-TasNet) sees a second or two of context. When one
talker speaks alone, nothing tells it which output that talker had a moment ago, and it may
move the talker to the other output in the middle of a turn. Chunk matching
(:mod:`unweave.chunks`) cannot see such a swap: it happens inside a segment.

:func:`trace_talkers` finds and undoes these swaps. Each output is cut into short blocks
(8 frames of 32 ms, hop 16 ms: 128 ms); each block is described by the mean mel-cepstrum of
the frames where that output dominates (a crude voice print: the vocal tract's envelope); a
Viterbi pass then picks, block by block, which output holds which talker, trading the fit of
the blocks to each talker's mean cepstrum against a cost for every change (cheap in a pause,
where the separator loses track). The talkers' means are re-estimated from the path and the
pass repeats (a hard expectation-maximisation, as in the speaker tracing of continuous
speech separation: Chen et al., "Continuous speech separation", ICASSP 2020).

Arrays: sources ``(S, ..., samples)`` (channels averaged for the analysis, all channels
reordered together).
"""

from __future__ import annotations

import itertools

import numpy as np

#: Frames per block (128 ms), the cost of a change of order (in the units of the block
#: costs), and the weight of each frame's Gaussian log-likelihood: chosen on conversations of
#: speechocean762's validation speakers (docs/benchmarks.md, issue 15).
BLOCK_FRAMES = 8
SWITCH_COST = 10.0
PAUSE_SWITCH_COST = 2.0
FRAME_WEIGHT = 0.05


def _mel_filters(n_mels: int, frame: int, sample_rate: int, low: float = 80.0,
                 high: float = 4000.0) -> np.ndarray:
    """``(n_mels, frame // 2 + 1)`` triangular mel filters from ``low`` to ``high`` Hz."""
    freqs = np.fft.rfftfreq(frame, 1 / sample_rate)

    def mel(hz):
        return 2595 * np.log10(1 + np.asarray(hz) / 700)

    points = 700 * (10 ** (np.linspace(mel(low), mel(min(high, sample_rate / 2)), n_mels + 2)
                           / 2595) - 1)
    a, b, c = points[:-2, None], points[1:-1, None], points[2:, None]
    return np.clip(np.minimum((freqs - a) / (b - a), (c - freqs) / (c - b)), 0, None)


def cepstra(sources: np.ndarray, sample_rate: int, coefficients: int = 19
            ) -> tuple[np.ndarray, np.ndarray, int]:
    """Mel-cepstra ``(S, T, coefficients)`` (c1.. of 40 mel bands, 80 Hz to 4 kHz: level-free)
    and frame powers ``(S, T)`` of ``sources`` ``(S, ..., samples)`` (channels averaged),
    from :func:`unweave.spectral.stft` frames of about 32 ms centred every ``hop`` samples
    (returned too)."""
    from scipy.fft import dct

    from unweave.spectral import STFTConfig, stft

    s, n = sources.shape[0], sources.shape[-1]
    frame = 1 << max(4, round(np.log2(0.032 * sample_rate)))
    hop = frame // 2
    if n < frame:
        return np.zeros((s, 0, coefficients)), np.zeros((s, 0)), hop
    mono = sources.reshape(s, -1, n).mean(axis=1, dtype=np.float32)
    power = np.swapaxes(np.abs(stft(mono, STFTConfig(frame, hop))) ** 2, 1, 2)  # (S, T, F)
    level = power.sum(axis=-1, dtype=np.float64)
    bands = power @ _mel_filters(40, frame, sample_rate).T.astype(np.float32)
    logs = np.log(bands + 1e-10 * max(float(level.max()), 1e-30), dtype=np.float64)
    return dct(logs, type=2, norm="ortho", axis=-1)[..., 1 : coefficients + 1], level, hop


def dominant_frames(level: np.ndarray, dominance: float = 4.0) -> np.ndarray:
    """``(S, T)`` booleans: frames where a source is audible and holds ``dominance`` times the
    others' power together (where its voice print can be read), from powers ``(S, T)``."""
    loud = level > 1e-4 * max(float(level.max()), 1e-30)
    return loud & (level >= dominance * (level.sum(axis=0, keepdims=True) - level))


def _block_statistics(features: np.ndarray, level: np.ndarray, block: int, dominance: float):
    """Per output and block: sums ``(S, N, D)`` and sums of squares of the features over the
    frames where the output dominates (:func:`dominant_frames`), and their counts ``(S, N)``."""
    s, t, d = features.shape
    blocks = t // block
    dominant = dominant_frames(level, dominance)[:, : blocks * block]
    weights = dominant.reshape(s, blocks, block).astype(np.float64)
    f = features[:, : blocks * block].reshape(s, blocks, block, d)
    return (np.einsum("snk,snkd->snd", weights, f), np.einsum("snk,snkd->snd", weights, f**2),
            weights.sum(axis=-1))


def _viterbi(costs: np.ndarray, change: np.ndarray) -> np.ndarray:
    """The cheapest path ``(N,)`` of state indices through ``costs`` ``(N, K)``, paying
    ``change[n]`` to move to another state at block ``n``."""
    n, k = costs.shape
    total = costs[0].copy()
    back = np.zeros((n, k), np.int64)
    for i in range(1, n):
        move = total.min() + change[i]
        back[i] = np.where(total <= move, np.arange(k), total.argmin())
        total = np.minimum(total, move) + costs[i]
    path = np.zeros(n, np.int64)
    path[-1] = total.argmin()
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def trace_talkers(sources: np.ndarray, sample_rate: int, block: int = BLOCK_FRAMES,
                  switch: float = SWITCH_COST, pause_switch: float = PAUSE_SWITCH_COST,
                  weight: float = FRAME_WEIGHT, dominance: float = 4.0, pause_db: float = -30.0,
                  iterations: int = 3) -> np.ndarray:
    """``sources`` ``(S, ..., samples)`` with the talkers put back on their own outputs,
    block by block (see the module's docstring): the outputs as they are, where nothing
    says otherwise. Up to 6 sources (every permutation is a state)."""
    s = sources.shape[0]
    if s < 2 or s > 6:
        return sources
    features, level, hop = cepstra(sources, sample_rate)
    sums, squares, counts = _block_statistics(features, level, block, dominance)
    blocks = counts.shape[1]
    if blocks < 2 or counts.sum() == 0:
        return sources
    total = level[:, : blocks * block].sum(axis=0).reshape(blocks, block).sum(axis=-1)
    quiet = total < 10 ** (pause_db / 10) * np.percentile(total, 95)
    change = np.where(quiet, pause_switch, switch)
    perms = list(itertools.permutations(range(s)))
    path = np.zeros(blocks, np.int64)  # perms[0]: the outputs as they are
    for _ in range(iterations):
        # Each talker's mean and the pooled variance, from the blocks as the path orders them
        # (talker j is output perms[q][j] where the path is at q).
        mean_sum = np.zeros((s, features.shape[-1]))
        square_sum, count = np.zeros_like(mean_sum), np.zeros(s)
        for q, perm in enumerate(perms):
            on = path == q
            for j, out in enumerate(perm):
                mean_sum[j] += sums[out, on].sum(axis=0)
                square_sum[j] += squares[out, on].sum(axis=0)
                count[j] += counts[out, on].sum()
        if count.min() == 0:
            break
        means = mean_sum / count[:, None]
        var = np.maximum(square_sum / count[:, None] - means**2, 1e-6).mean(axis=0)
        costs = np.zeros((blocks, len(perms)))
        for q, perm in enumerate(perms):
            for j, out in enumerate(perm):  # sum over frames of (x - mean)^2 / var
                costs[:, q] += ((squares[out] - 2 * sums[out] * means[j]
                                 + counts[out][:, None] * means[j] ** 2) / var).sum(axis=-1)
        new = _viterbi(0.5 * weight * costs, change)
        if np.array_equal(new, path):
            break
        path = new
    out = sources.copy()
    # Frame t is centred on sample t * hop: blocks meet half a hop before their first frame.
    edges = [b * block * hop - hop // 2 for b in range(blocks + 1)]
    edges[0], edges[-1] = 0, sources.shape[-1]
    for b in np.flatnonzero(path):
        a, z = edges[b], edges[b + 1]
        out[..., a:z] = sources[list(perms[path[b]])][..., a:z]
    return out
