"""Audio through a causal separator as it arrives: files block by block, or raw PCM pipes.

Blocks come from a file (:func:`file_blocks`, read by :mod:`unweave.blocks`) or from raw
16-bit little-endian PCM on a pipe (:func:`pipe_blocks`, as ``ffmpeg -f s16le`` writes), go
through a streamer (:class:`unweave.nn.realtime.ResampledStreamer`), and each finished piece
of the chosen sources goes to its sink: an atomic file writer (:class:`unweave.audio.
AudioWriter`) or a PCM pipe (:class:`PipeWriter`), as soon as it is finished. Outputs are
time-aligned with the input (the latency is made up at the end: as many samples come out as
went in) and equal what the separator gives offline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from unweave.errors import UnweaveError

#: Pipe mode's sample rates: what ffmpeg and sound cards use.
PIPE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
#: At most this many channels on a pipe.
MAX_PIPE_CHANNELS = 32


class FileInput:
    """A file read in blocks of ``block`` samples: ``sample_rate``, ``channels``, ``frames``
    (the header's, None when unknown), iterate for the blocks."""

    def __init__(self, path: Path, block_seconds: float):
        from unweave.audio import read_audio
        from unweave.blocks import open_blocks

        self.path = path
        self._blocks = open_blocks(path)
        if self._blocks is None:  # libsndfile cannot seek in it: read whole, fed in blocks
            self._audio, self.sample_rate = read_audio(path)
            self.channels, self.frames = self._audio.shape[0], self._audio.shape[1]
        else:
            self._audio = None
            b = self._blocks
            self.sample_rate, self.channels, self.frames = b.sample_rate, b.channels, b.frames
        self.block = max(1, int(block_seconds * self.sample_rate))

    def __iter__(self) -> Iterator[np.ndarray]:
        start = 0
        while True:
            if self._audio is not None:
                block = self._audio[:, start : start + self.block]
            else:
                block = self._blocks.read(start, self.block)
            if block.shape[1] == 0:
                break
            if not np.all(np.isfinite(block)):
                raise UnweaveError(f"{self.path}: contains NaN or infinite samples")
            yield block
            start += block.shape[1]
            if block.shape[1] < self.block:
                break
        if start == 0:
            raise UnweaveError(f"{self.path}: contains no audio samples")

    def close(self) -> None:
        if self._blocks is not None:
            self._blocks.close()


def pipe_blocks(stdin: BinaryIO, channels: int, block: int) -> Iterator[np.ndarray]:
    """``(channels, n)`` float32 blocks of raw s16le frames from ``stdin`` until it ends."""
    frame_bytes = 2 * channels
    pending = b""
    while True:
        chunk = stdin.read(block * frame_bytes)
        if not chunk:
            break
        chunk = pending + chunk
        usable = len(chunk) - len(chunk) % frame_bytes
        chunk, pending = chunk[:usable], chunk[usable:]
        if chunk:
            yield np.frombuffer(chunk, "<i2").reshape(-1, channels).T.astype(np.float32) / 32768


class PipeWriter:
    """``write((channels, n))`` as raw s16le frames to ``stdout``, flushed at once."""

    def __init__(self, stdout: BinaryIO):
        self.stdout = stdout

    def write(self, audio: np.ndarray) -> None:
        if audio.shape[1]:
            pcm = np.clip(np.round(audio.T * 32768), -32768, 32767).astype("<i2")
            self.stdout.write(pcm.tobytes())
            self.stdout.flush()


def run(streamer, blocks, sinks: dict[str, object],
        on_block: Callable[[int], None] | None = None) -> int:
    """Feed ``blocks`` to ``streamer``; write each finished piece of the sources named in
    ``sinks`` (``{source: sink with write((channels, n))}``); return the samples read."""
    unknown = [s for s in sinks if s not in streamer.sources]
    if unknown:
        raise UnweaveError(f"no source {unknown[0]!r}: this model gives "
                           f"{', '.join(streamer.sources)}")
    index = {s: streamer.sources.index(s) for s in sinks}
    total = 0
    for block in blocks:
        out = streamer.process(block)
        for s, sink in sinks.items():
            sink.write(out[index[s]])
        total += block.shape[1]
        if on_block:
            on_block(block.shape[1])
    out = streamer.flush()
    for s, sink in sinks.items():
        sink.write(out[index[s]])
    return total


def stream_file(make_streamer: Callable[[int, int], object], path: Path,
                outputs: dict[str, Path], block_seconds: float = 1.0, bits: int = 32,
                overwrite: bool = False, on_block: Callable[[int], None] | None = None
                ) -> list[Path]:
    """Stream the file ``path`` through ``make_streamer(rate, channels)`` into the files
    ``outputs`` (``{source: path}``, written atomically); return them."""
    from unweave.audio import AudioWriter

    source = FileInput(path, block_seconds)
    try:
        streamer = make_streamer(source.sample_rate, source.channels)
        writers = {}
        try:
            for s, p in outputs.items():
                writers[s] = AudioWriter(p, source.sample_rate, source.channels, bits=bits,
                                         overwrite=overwrite)
            run(streamer, source, writers, on_block)
            return [w.commit() for w in writers.values()]
        except BaseException:
            for w in writers.values():
                w.abort()
            raise
    finally:
        source.close()


def check_pipe_format(rate: int | None, channels: int | None) -> tuple[int, int]:
    """The rate and channel count of raw PCM on a pipe, or a clear error."""
    if rate is None or channels is None:
        raise UnweaveError("raw PCM on a pipe needs --rate and --channels (16-bit little-endian "
                           "samples, as 'ffmpeg -f s16le' writes)")
    if rate not in PIPE_RATES:
        raise UnweaveError(f"--rate {rate}: pipe mode takes {', '.join(map(str, PIPE_RATES))}")
    if not 1 <= channels <= MAX_PIPE_CHANNELS:
        raise UnweaveError(f"--channels {channels}: pipe mode takes 1 to {MAX_PIPE_CHANNELS}")
    return rate, channels
