"""Running any separation network on audio of any length, offline, with bounded memory.

The audio (already at the model's rate) is cut into overlapping segments
(:func:`unweave.chunks.chunk_plan`), full-length segments go through the network
``batch_size`` at a time, and the outputs are cross-faded together (the last, shorter segment
runs on its own, never padded, so a network sees only real samples). Silent segments are
skipped (their outputs are zero). Memory depends on the segment length and the batch, not the
track.

A model whose sources have no fixed order (``permutation_invariant``, trained with PIT: the
talkers) may name them differently in each segment: each segment's sources are reordered to
continue the previous segment's over their overlap (:func:`unweave.chunks.best_order`).

Channels are fitted to the model's ``audio_channels``: a one-channel model separates each
channel on its own (channels go into the batch); a stereo model given mono audio gets it on
both channels and the outputs are averaged back; given other channel counts, each channel is
separated as a mono input.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from unweave.chunks import Voices, best_order, chunk_plan, crossfade


def _fit_channels(audio: np.ndarray, model_channels: int) -> tuple[np.ndarray, Callable]:
    """``(C, T)`` -> ``(items, model_channels, T)`` and how to turn the model's
    ``(items, S, model_channels, T)`` outputs back into ``(S, C, T)``."""
    c = audio.shape[0]
    if model_channels == 1:
        return audio[:, None], lambda out: out[:, :, 0].transpose(1, 0, 2)
    if c == model_channels:
        return audio[None], lambda out: out[0]
    # Each channel on its own, copied to every model channel; outputs averaged over them.
    items = np.repeat(audio[:, None], model_channels, axis=1)
    return items, lambda out: out.mean(axis=2).transpose(1, 0, 2)


def apply_model(model, mixture: np.ndarray, segment_seconds: float = 30.0,
                overlap_seconds: float = 1.0, batch_size: int = 4, device: str = "cpu",
                on_segment: Callable[[int, int], None] | None = None,
                unordered: bool | None = None) -> np.ndarray:
    """Sources ``(sources, channels, samples)`` float32 of ``mixture`` ``(channels, samples)``
    at ``model.sample_rate``; ``model`` in evaluation mode on ``device``.
    ``on_segment(done, total)`` reports progress; ``unordered`` (default: the model's
    ``permutation_invariant``) matches segments' sources to each other."""
    audio = np.asarray(mixture, np.float32)
    items, back = _fit_channels(audio, model.audio_channels)
    length = audio.shape[-1]
    chunk, overlap, starts = chunk_plan(length, model.sample_rate, segment_seconds,
                                        overlap_seconds)
    out = np.zeros((items.shape[0], len(model.sources), items.shape[1], length), np.float32)
    pieces = [(i, start, min(start + chunk, length)) for i, start in enumerate(starts)]
    groups: list[list[tuple[int, int, int]]] = []
    for piece in pieces:
        size = piece[2] - piece[1]
        if groups and len(groups[-1]) < batch_size and \
                groups[-1][0][2] - groups[-1][0][1] == size:
            groups[-1].append(piece)
        else:
            groups.append([piece])
    if unordered is None:
        unordered = bool(getattr(model, "permutation_invariant", False))
    tails: dict[int, np.ndarray] = {}  # item -> last segment's raw overlap (S, A, overlap)
    voices = {k: Voices(model.sample_rate) for k in range(items.shape[0])}  # see _continue
    done = 0
    for group in groups:
        batch = np.stack([items[..., a:b] for _, a, b in group])  # (G, items, A, n)
        g, n_items = batch.shape[:2]
        active = np.any(batch.reshape(g, -1), axis=1)
        if active.any():
            x = torch.from_numpy(np.ascontiguousarray(batch[active])).to(device)
            with torch.inference_mode():
                y = model(x.reshape(-1, *x.shape[2:])).cpu().numpy()
            y = y.reshape(int(active.sum()), n_items, *y.shape[1:])  # (G', items, S, A, n)
            for k, (i, a, b) in enumerate(p for p, on in zip(group, active) if on):
                weight = crossfade(b - a, overlap if i > 0 else 0,
                                   overlap if b < length else 0)
                if unordered and overlap:
                    y[k] = _continue(y[k], tails, i, starts, overlap, voices)
                out[..., a:b] += y[k] * weight
        done += len(group)
        if on_segment:
            on_segment(done, len(pieces))
    return np.ascontiguousarray(back(out), dtype=np.float32)


def _continue(y: np.ndarray, tails: dict, i: int, starts: list[int], overlap: int,
              voices: dict[int, Voices]) -> np.ndarray:
    """Segment ``i``'s outputs ``(items, S, A, n)`` reordered per item to continue segment
    ``i - 1`` (whose overlap is in ``tails``; ``voices``: each item's talker profiles so far,
    which decide when they can, :class:`unweave.chunks.Voices`); its own overlap kept for
    segment ``i + 1``."""
    previous = tails.pop(i - 1) if i > 0 and (i - 1) in tails else None
    ordered = []
    for k, item in enumerate(y):
        by_overlap = None if previous is None else best_order(previous[k], item[..., :overlap])
        ordered.append(item[voices[k].follow(item, by_overlap)])
    y = np.stack(ordered)
    if i + 1 < len(starts):
        tails[i] = y[..., -overlap:].copy()
    return y
