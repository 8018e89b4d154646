"""One chunking engine for every separator: long audio in overlapping blocks, cross-faded.

Memory then grows with the chunk length, not the track length. Each chunk is separated on its
own by any callable ``separate(chunk, sample_rate, **inputs) -> Separation`` (a
:class:`~unweave.methods.base.Separator` is one); chunks are planned and joined as
:mod:`unweave.chunks` says.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from unweave.chunks import Voices, chunk_plan, continue_order, crossfade
from unweave.methods.base import Separation


def separate_in_chunks(
    separate: Callable[..., Separation],
    mixture: np.ndarray,
    sample_rate: int,
    chunk_seconds: float = 60.0,
    overlap_seconds: float = 2.0,
    on_chunk: Callable[[int, int], None] | None = None,
    **inputs,
) -> Separation:
    """Run ``separate`` over ``mixture`` ``(channels, samples)`` in chunks.

    Inputs that are per-sample signals (``references``) are cut the same way. Chunks that are
    all silence are skipped (their estimates are zero). ``on_chunk(done, total)`` reports
    progress. Masks are not kept (they would grow with the track). When the separator's
    sources have no fixed order (``ordered_sources`` False), each chunk's are renamed to
    continue the previous chunk's over their overlap.
    """
    unordered = not getattr(separate, "ordered_sources", True)
    tail: dict[str, np.ndarray] | None = None
    voices = Voices(sample_rate)  # the talkers' profiles so far (unordered sources)
    length = mixture.shape[-1]
    chunk, overlap, starts = chunk_plan(length, sample_rate, chunk_seconds, overlap_seconds)
    if len(starts) == 1:
        result = separate(mixture, sample_rate, **inputs)
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
            part = separate(piece, sample_rate, **extra)
            if unordered and overlap:
                part.sources = continue_order(tail, part.sources, overlap, voices)
                tail = {k: v[..., -overlap:] for k, v in part.sources.items()}
            weight = crossfade(stop - start, overlap if i > 0 else 0,
                               overlap if stop < length else 0)
            for name, est in part.sources.items():
                if name not in outputs:
                    outputs[name] = np.zeros(mixture.shape, est.dtype)
                outputs[name][..., start:stop] += est * weight
        else:
            tail = None  # a silent chunk: nothing to match the next one to
        if on_chunk:
            on_chunk(i + 1, len(starts))
    if not outputs:
        # Every chunk was silent: the validation of a whole call says so.
        return separate(mixture, sample_rate, references=references, **inputs)
    return Separation(outputs, sample_rate, info=info)

