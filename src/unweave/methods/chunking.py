"""One chunking engine for every separator: long audio in overlapping blocks, cross-faded.

Memory then grows with the chunk length, not the track length. Each chunk is separated on its
own; neighbouring chunks overlap by ``overlap`` samples and are blended with complementary
linear ramps (they sum to one), so the seams do not click.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from unweave.methods.base import Separation, Separator


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


def separate_in_chunks(
    separator: Separator,
    mixture: np.ndarray,
    sample_rate: int,
    chunk_seconds: float = 60.0,
    overlap_seconds: float = 2.0,
    on_chunk: Callable[[int, int], None] | None = None,
    **inputs,
) -> Separation:
    """Run ``separator`` over ``mixture`` ``(channels, samples)`` in chunks.

    Inputs that are per-sample signals (``references``) are cut the same way. Chunks that are
    all silence are skipped (their estimates are zero). ``on_chunk(done, total)`` reports
    progress. Masks are not kept (they would grow with the track).
    """
    length = mixture.shape[-1]
    chunk, overlap, starts = chunk_plan(length, sample_rate, chunk_seconds, overlap_seconds)
    if len(starts) == 1:
        result = separator(mixture, sample_rate, **inputs)
        if on_chunk:
            on_chunk(1, 1)
        return result
    outputs: dict[str, np.ndarray] = {}
    info: dict = {"chunks": len(starts), "chunk_samples": chunk, "overlap_samples": overlap}
    references = inputs.pop("references", None)
    for i, start in enumerate(starts):
        stop = min(start + chunk, length)
        piece = mixture[..., start:stop]
        if np.any(piece):
            extra = dict(inputs)
            if references is not None:
                extra["references"] = {k: v[..., start:stop] for k, v in references.items()}
            part = separator(piece, sample_rate, **extra)
            weight = _crossfade(stop - start, overlap if i > 0 else 0,
                                overlap if stop < length else 0)
            for name, est in part.sources.items():
                if name not in outputs:
                    outputs[name] = np.zeros(mixture.shape, est.dtype)
                outputs[name][..., start:stop] += est * weight
        if on_chunk:
            on_chunk(i + 1, len(starts))
    if not outputs:
        # Every chunk was silent: the validation of a whole call says so.
        return separator(mixture, sample_rate, references=references, **inputs)
    return Separation(outputs, sample_rate, info=info)


def _crossfade(n: int, fade_in: int, fade_out: int) -> np.ndarray:
    weight = np.ones(n, np.float32)
    if fade_in:
        weight[:fade_in] = np.linspace(0, 1, fade_in + 2, dtype=np.float32)[1:-1]
    if fade_out:
        weight[n - fade_out :] = np.linspace(1, 0, fade_out + 2, dtype=np.float32)[1:-1]
    return weight
