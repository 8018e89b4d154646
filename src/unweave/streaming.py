"""Separating a long audio file block by block: memory depends on the chunk, not the song.

The file is read a chunk at a time (soundfile seeks), each chunk is separated, neighbouring
chunks are cross-faded exactly as :func:`unweave.methods.chunking.separate_in_chunks` does, and
the finished samples are appended to temporary output files that are renamed into place only
when every chunk has succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from unweave.audio import AudioWriter, native_path
from unweave.errors import UnweaveError
from unweave.methods.base import Separator
from unweave.methods.chunking import _crossfade, chunk_plan


def stream_separate(separator: Separator, path: Path, out_dir: Path, fmt: str, bits: int,
                    chunk_seconds: float, overlap_seconds: float, overwrite: bool,
                    names_of: Callable[[list[str]], list[str]],
                    on_chunk: Callable[[int, int], None] | None = None) -> list[Path]:
    """Separate ``path`` into ``out_dir/<source>.<fmt>`` chunk by chunk; return the files.

    ``names_of`` turns the separator's source names into file names (distinct, safe);
    ``on_chunk(done, total)`` reports progress."""
    with sf.SoundFile(native_path(path)) as f:
        rate, channels, length = f.samplerate, f.channels, f.frames
        chunk, overlap, starts = chunk_plan(length, rate, chunk_seconds, overlap_seconds)
        writers: dict[str, AudioWriter] = {}
        tails: dict[str, np.ndarray] = {}
        pending_silence = 0
        try:
            for i, start in enumerate(starts):
                stop = min(start + chunk, length)
                f.seek(start)
                piece = f.read(stop - start, dtype="float32", always_2d=True).T
                if not np.all(np.isfinite(piece)):
                    raise UnweaveError(f"{path}: contains NaN or infinite samples")
                last = stop >= length
                fade_in = overlap if i > 0 else 0
                fade_out = 0 if last else overlap
                if np.any(piece):
                    estimates = separator(piece, rate).sources
                else:
                    if not writers:  # names unknown yet: remember how much silence
                        pending_silence += (stop - start) - fade_out
                        if on_chunk:
                            on_chunk(i + 1, len(starts))
                        continue
                    estimates = {k: np.zeros_like(piece) for k in writers}
                if not writers:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    for k, name in zip(estimates, names_of(list(estimates))):
                        writers[k] = AudioWriter(out_dir / f"{name}.{fmt}", rate, channels,
                                                 bits=bits, overwrite=overwrite)
                        if pending_silence:
                            writers[k].write(np.zeros((channels, pending_silence), np.float32))
                weight = _crossfade(stop - start, fade_in, fade_out)
                for k, est in estimates.items():
                    est = est * weight
                    if fade_in and k in tails:
                        est[:, :fade_in] += tails[k]
                    writers[k].write(est[:, : est.shape[1] - fade_out] if fade_out else est)
                    if fade_out:
                        tails[k] = est[:, est.shape[1] - fade_out :]
                if on_chunk:
                    on_chunk(i + 1, len(starts))
            if not writers:
                raise UnweaveError(f"{path}: mixture is silent (all samples are zero)")
            return [w.commit() for w in writers.values()]
        except BaseException:
            for w in writers.values():
                w.abort()
            raise
