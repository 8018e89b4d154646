"""Reading an audio file block by block, in order: memory holds a block, not the file.

libsndfile's formats (WAV, FLAC, OGG, MP3...) seek; MP4/AAC (and the mixture stream of a
``.stem.mp4``) are decoded by FFmpeg front to back, keeping only the samples not yet passed.
Both give ``read(start, count) -> (channels, samples)`` float32 for non-decreasing ``start``;
fewer than ``count`` samples means the file ends there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from unweave.audio import (
    PYAV_SUFFIXES,
    check_not_truncated,
    check_readable,
    decodable_audio_streams,
    ffmpeg_source,
    frame_array,
    native_path,
    quiet_decoder,
)
from unweave.errors import AudioReadError


class Blocks:
    """An open file read block by block: ``sample_rate``, ``channels``, ``frames`` (the
    header's length, None when unknown or approximate)."""

    sample_rate: int
    channels: int
    frames: int | None

    def read(self, start: int, count: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Blocks:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SoundFileBlocks(Blocks):
    """A file libsndfile knows and can seek in."""

    def __init__(self, path: Path):
        self._file = sf.SoundFile(native_path(path))
        self.sample_rate, self.channels = self._file.samplerate, self._file.channels
        self.frames = self._file.frames
        self._path = path

    def read(self, start: int, count: int) -> np.ndarray:
        with quiet_decoder(self._path):
            self._file.seek(start)
            return self._file.read(count, dtype="float32", always_2d=True).T

    def close(self) -> None:
        self._file.close()


class DecodedBlocks(Blocks):
    """The first audio stream of a file FFmpeg decodes (MP4, M4A, AAC...), read in order."""

    def __init__(self, path: Path):
        import av

        source = ffmpeg_source(path)
        self._raw = None if isinstance(source, str) else source
        try:
            self._container = av.open(source)
            streams = decodable_audio_streams(self._container, path)
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.close()
            raise AudioReadError(f"{path}: not a readable audio file ({exc})") from None
        except AudioReadError:
            self.close()
            raise
        stream = streams[0]
        self.sample_rate = stream.codec_context.sample_rate
        self.channels = max(stream.codec_context.channels, 1)
        seconds = (float(stream.duration * stream.time_base) if stream.duration
                   else (self._container.duration or 0) / 1e6)
        self.frames = int(seconds * self.sample_rate) or None  # an estimate
        self._path = path
        self._decoded = self._decode(stream)
        self._pending: list[np.ndarray] = []  # decoded, from sample self._offset on
        self._offset = 0
        self._held = 0
        self._done = False

    def _decode(self, stream) -> Iterator[np.ndarray]:
        import av

        try:
            for packet in self._container.demux(stream):
                for frame in packet.decode():
                    yield frame_array(frame)
        except (av.FFmpegError, OSError, ValueError, AttributeError) as exc:
            raise AudioReadError(f"{self._path}: cannot decode ({exc})") from None

    def read(self, start: int, count: int) -> np.ndarray:
        if start < self._offset:
            raise ValueError("blocks of a decoded file must be read in order")
        while not self._done and self._offset + self._held < start + count:
            try:
                block = next(self._decoded)
            except StopIteration:
                self._done = True
                break
            if block.shape[0] != self.channels:
                raise AudioReadError(f"{self._path}: the channel count changes in the stream")
            self._pending.append(block)
            self._held += block.shape[1]
        held = (np.concatenate(self._pending, axis=1) if self._pending
                else np.zeros((self.channels, 0), np.float32))
        held = held[:, start - self._offset:]  # drop what the reader has passed
        self._pending, self._offset, self._held = [held], start, held.shape[1]
        return held[:, :count].copy()

    def close(self) -> None:
        if getattr(self, "_container", None) is not None:
            self._container.close()
        if self._raw is not None:
            self._raw.close()


def open_blocks(path: str | os.PathLike) -> Blocks | None:
    """``path`` opened for block-wise reading, or None when only a whole read works (a file
    libsndfile knows but cannot seek in). Raises :class:`AudioReadError` as
    :func:`unweave.audio.read_audio` would for a broken file."""
    path = Path(path)
    check_readable(path)
    if path.suffix.lower() in PYAV_SUFFIXES:
        return DecodedBlocks(path)
    try:
        with quiet_decoder(path), sf.SoundFile(native_path(path)) as f:
            check_not_truncated(path, f)
            if not f.seekable() or f.frames <= 0 or f.channels < 1:
                return None
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None
    return SoundFileBlocks(path)
