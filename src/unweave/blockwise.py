"""Separating a long audio file block by block: memory depends on the chunk, not the song.

(Files only: running a causal network on a live stream of blocks is :mod:`unweave.nn.realtime`.)

The file is read a chunk at a time, in order (:mod:`unweave.blocks`: libsndfile seeks, FFmpeg
decodes front to back), each chunk is separated, neighbouring chunks are cross-faded exactly as
the in-memory engine (:mod:`unweave.methods.chunking`) does, and the finished samples are appended
to temporary output files that are renamed into place only when every chunk has succeeded.
The file's length need not be known: a chunk is the last when the file ends within it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from unweave.audio import AudioWriter
from unweave.blocks import Blocks
from unweave.chunks import Voices, chunk_plan, continue_order, crossfade
from unweave.errors import UnweaveError
from unweave.methods.base import Separator


def separate_blockwise(separator: Separator, blocks: Blocks, path: Path, out_dir: Path, fmt: str,
                    bits: int, chunk_seconds: float, overlap_seconds: float, overwrite: bool,
                    names_of: Callable[[list[str]], list[str]],
                    on_chunk: Callable[[int, int], None] | None = None) -> list[Path]:
    """Separate the file open as ``blocks`` (from ``path``) into ``out_dir/<source>.<fmt>``
    chunk by chunk; return the files.

    ``names_of`` turns the separator's source names into file names (distinct, safe);
    ``on_chunk(done, total)`` reports progress (``total`` from the header's length, an
    estimate for decoded formats, made exact at the last chunk)."""
    rate, channels = blocks.sample_rate, blocks.channels
    chunk, overlap, planned = chunk_plan(blocks.frames or 1, rate, chunk_seconds,
                                         overlap_seconds)
    step, expected = chunk - overlap, len(planned)
    writers: dict[str, AudioWriter] = {}
    tails: dict[str, np.ndarray] = {}
    unordered = not getattr(separator, "ordered_sources", True)
    raw_tail: dict[str, np.ndarray] | None = None  # the last chunk's end, unweighted
    voices = Voices(rate)  # the talkers' profiles so far (unordered sources)
    pending_silence = 0
    try:
        start, i, last = 0, 0, False
        while not last:
            piece = blocks.read(start, chunk + 1)  # one sample more: does the file go on?
            last = piece.shape[1] <= chunk
            piece = piece[:, :chunk]
            if piece.shape[1] == 0:
                if i == 0:
                    raise UnweaveError(f"{path}: contains no audio samples")
                break  # the previous chunk ended exactly at the end of the file
            if not np.all(np.isfinite(piece)):
                raise UnweaveError(f"{path}: contains NaN or infinite samples")
            n = piece.shape[1]
            fade_in = overlap if i > 0 else 0
            fade_out = 0 if last else overlap
            if np.any(piece):
                estimates = separator(piece, rate).sources
                if unordered and overlap:
                    estimates = continue_order(raw_tail, estimates, fade_in, voices)
                    raw_tail = {k: v[:, n - overlap:] for k, v in estimates.items()}
            elif not writers:  # names unknown yet: remember how much silence
                pending_silence += n - fade_out
                estimates = None
            else:
                estimates = {k: np.zeros_like(piece) for k in writers}
                raw_tail = None
            if estimates is not None:
                if not writers:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    for k, name in zip(estimates, names_of(list(estimates))):
                        writers[k] = AudioWriter(out_dir / f"{name}.{fmt}", rate, channels,
                                                 bits=bits, overwrite=overwrite)
                        if pending_silence:
                            writers[k].write(np.zeros((channels, pending_silence), np.float32))
                weight = crossfade(n, fade_in, fade_out)
                for k, est in estimates.items():
                    est = est * weight
                    if fade_in and k in tails:
                        est[:, :fade_in] += tails[k]
                    writers[k].write(est[:, : n - fade_out] if fade_out else est)
                    if fade_out:
                        tails[k] = est[:, n - fade_out :]
            i += 1
            if on_chunk:
                on_chunk(i, i if last else max(expected, i + 1))
            start += step
        if not writers:
            raise UnweaveError(f"{path}: mixture is silent (all samples are zero)")
        return [w.commit() for w in writers.values()]
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
