"""Reading, writing and resampling audio.

Arrays are ``(channels, samples)`` float32 in [-1, 1]. soundfile reads WAV/FLAC/OGG/MP3 (and
anything else libsndfile knows); PyAV reads MP4/M4A/AAC and Native Instruments ``.stem.mp4``
files (every audio stream: the mixture, then the stems). Writes are atomic: a temporary file
in the target folder renamed into place, so an interrupted write leaves no half-written file.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from unweave.atomic import temporary_beside
from unweave.errors import AudioReadError, UnweaveError
from unweave.names import unique_names

#: Suffixes of files that may hold audio (soundfile's and FFmpeg's usual ones).
AUDIO_FILE_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".mp4", ".m4a",
                       ".aac", ".opus", ".wv"}
PYAV_SUFFIXES = {".mp4", ".m4a", ".aac", ".m4b", ".mov", ".webm", ".mkv", ".opus"}
#: A whole read of an MP4/AAC file (oracles, evaluation, reports: separation reads it block by
#: block) decodes at most this many samples over all channels and streams (2 GiB of float32,
#: 100 minutes of 44.1 kHz stereo), so a small file that decodes to hours of many channels
#: cannot exhaust memory.
MAX_DECODED_VALUES = 1 << 29
#: Stream names of a MUSDB-style ``.stem.mp4`` when the file carries none.
MUSDB_STEM_NAMES = ("mixture", "drums", "bass", "other", "vocals")
WRITE_SUBTYPES = {
    ("wav", 16): "PCM_16",
    ("wav", 24): "PCM_24",
    ("wav", 32): "FLOAT",
    ("flac", 16): "PCM_16",
    ("flac", 24): "PCM_24",
}


def native_path(path: str | os.PathLike) -> str | bytes:
    """``path`` for C libraries (libsndfile, FFmpeg): the text, or the raw bytes when the name
    is not valid UTF-8 (Linux allows any bytes; Python keeps them as surrogates, which the
    libraries would fail to encode)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def is_stem_file(path: str | os.PathLike) -> bool:
    """True for Native Instruments stems files (``*.stem.mp4``)."""
    return str(path).lower().endswith(".stem.mp4")


def check_readable(path: Path) -> None:
    if not path.exists():
        raise AudioReadError(f"{path}: no such file")
    if path.is_dir():
        raise AudioReadError(f"{path}: is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        raise AudioReadError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise AudioReadError(f"{path}: file is empty (0 bytes)")


def _finish(audio: np.ndarray, path: Path) -> np.ndarray:
    if audio.shape[-1] == 0:
        raise AudioReadError(f"{path}: contains no audio samples")
    if not np.all(np.isfinite(audio)):
        raise AudioReadError(f"{path}: contains NaN or infinite samples")
    return np.ascontiguousarray(audio, dtype=np.float32)


# libsndfile notes a data chunk shorter than its header declares as "data : N (should be M)".
_TRUNCATED = re.compile(r"^(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)
_PLACEHOLDER_SIZES = {0, 0xFFFFFFFF, 0xFFFFFFFF - 8}


def check_not_truncated(path: Path, f: sf.SoundFile) -> None:
    match = _TRUNCATED.search(f.extra_info)
    if match:
        declared, present = int(match.group(1)), int(match.group(2))
        if declared > present and declared not in _PLACEHOLDER_SIZES:
            raise AudioReadError(f"{path}: truncated (header declares {declared} bytes of "
                                 f"audio, the file holds {present})")


@contextmanager
def quiet_decoder(path: Path) -> Iterator[None]:
    """Silence what a C decoder prints on the process's stderr while reading ``path``:
    libmpg123 writes "Note: Illegal Audio-MPEG-Header..." lines for damaged MP3 files, which
    would break the one-line error. Only MP3 files are affected."""
    if path.suffix.lower() != ".mp3":
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        with quiet_decoder(path), sf.SoundFile(native_path(path)) as f:
            sample_rate = f.samplerate
            if f.channels < 1:
                raise AudioReadError(f"{path}: declares {f.channels} channels")
            check_not_truncated(path, f)
            data = f.read(dtype="float32", always_2d=True)
    except AudioReadError:
        raise
    except (sf.LibsndfileError, RuntimeError, OSError, MemoryError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        # libsndfile's error 1 is SF_ERR_UNRECOGNISED_FORMAT: let FFmpeg try that one.
        kind = _UnknownFormat if getattr(exc, "code", None) == 1 else AudioReadError
        raise kind(f"{path}: not a readable audio file ({msg})") from None
    return data.T, sample_rate


class _UnknownFormat(AudioReadError):
    """libsndfile does not know the container (FFmpeg may)."""


def frame_array(frame) -> np.ndarray:
    """A decoded PyAV frame as ``(channels, samples)`` float32.

    Converted here rather than by FFmpeg's resampler, which crashed (segfault) on files whose
    header declares more channels than the data holds (found by fuzzing).
    """
    data = frame.to_ndarray()
    channels, samples = len(frame.layout.channels), frame.samples
    if data.size != channels * samples:
        raise AudioReadError("decoded frames do not match the declared channel count")
    data = data.reshape(channels, samples) if frame.format.is_planar else \
        data.reshape(samples, channels).T
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128) / 128
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float32) / float(2 ** (8 * data.dtype.itemsize - 1))
    return data.astype(np.float32)


def _decode_streams(container, streams) -> list[np.ndarray]:
    """Decode PyAV audio streams in one pass over the file -> ``[(channels, samples)]``."""
    index = {s.index: i for i, s in enumerate(streams)}
    blocks: list[list[np.ndarray]] = [[] for _ in streams]
    decoded = 0
    for packet in container.demux(streams):
        i = index[packet.stream.index]
        for frame in packet.decode():
            block = frame_array(frame)
            if blocks[i] and block.shape[0] != blocks[i][0].shape[0]:
                raise AudioReadError("the channel count changes within the stream")
            decoded += block.size
            if decoded > MAX_DECODED_VALUES:
                raise AudioReadError(
                    f"decodes to more than {MAX_DECODED_VALUES * 4 >> 30} GiB of samples; "
                    "convert it to WAV or FLAC, which unweave reads block by block")
            blocks[i].append(block)
    out = []
    for i, stream in enumerate(streams):
        channels = max(stream.codec_context.channels, 1)
        out.append(np.concatenate(blocks[i], axis=1) if blocks[i]
                   else np.zeros((channels, 0), np.float32))
    return out


def _stem_names(container, n_streams: int) -> list[str]:
    """Stream names from the NI ``stem`` metadata when present, else MUSDB's convention."""
    for key in ("stem", "STEM"):
        raw = container.metadata.get(key)
        if raw:
            try:
                meta = json.loads(raw)
                names = ["mixture"] + [str(s["name"]) for s in meta["stems"]]
                if len(names) == n_streams:
                    return unique_names(names)  # titles are untrusted: no two alike
            except (ValueError, KeyError, TypeError):
                pass
    if n_streams == len(MUSDB_STEM_NAMES):
        return list(MUSDB_STEM_NAMES)
    return ["mixture"] + [f"stem_{i}" for i in range(1, n_streams)]


def ffmpeg_source(path: Path) -> str | BinaryIO:
    """What to give ``av.open`` for ``path``: the path as text, or an open binary file when
    the name is not UTF-8 (FFmpeg takes only text names); the caller closes that file."""
    source = native_path(path)
    return open(path, "rb") if isinstance(source, bytes) else source  # noqa: SIM115


def decodable_audio_streams(container, path: Path) -> list:
    """A PyAV container's audio streams that have a decoder and a sample rate."""
    streams = [s for s in container.streams.audio if s.codec_context is not None
               and (s.codec_context.sample_rate or 0) > 0]
    if not streams:
        raise AudioReadError(f"{path}: has no decodable audio stream")
    return streams


def _read_pyav(path: Path, all_streams: bool) -> tuple[dict[str, np.ndarray], int]:
    import av

    try:
        source = ffmpeg_source(path)
        with (nullcontext() if isinstance(source, str) else source), \
                av.open(source) as container:
            streams = decodable_audio_streams(container, path)
            if not all_streams:
                streams = streams[:1]
            rates = {s.codec_context.sample_rate for s in streams}
            if len(rates) != 1:
                raise AudioReadError(f"{path}: audio streams have different sample rates {rates}")
            names = _stem_names(container, len(container.streams.audio))
            out = dict(zip(names, _decode_streams(container, streams)))
    except AudioReadError as exc:
        msg = str(exc)
        raise AudioReadError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    except (av.FFmpegError, OSError, ValueError, MemoryError, AttributeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioReadError(f"{path}: not a readable audio file ({msg})") from None
    return out, rates.pop()


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file.

    Returns ``(audio, sample_rate)`` with ``audio`` shaped ``(channels, samples)`` float32.
    For a ``.stem.mp4`` file this is the mixture (first stream); see :func:`read_stems`.
    Raises :class:`AudioReadError` for missing, unreadable, empty or non-finite files.
    """
    path = Path(path)
    check_readable(path)
    if path.suffix.lower() in PYAV_SUFFIXES:
        streams, sample_rate = _read_pyav(path, all_streams=False)
        audio = next(iter(streams.values()))
    else:
        try:
            audio, sample_rate = _read_soundfile(path)
        except _UnknownFormat:
            try:
                streams, sample_rate = _read_pyav(path, all_streams=False)
            except AudioReadError:
                raise AudioReadError(f"{path}: not a readable audio file") from None
            audio = next(iter(streams.values()))
    return _finish(audio, path), sample_rate


def read_stems(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], int]:
    """Read every audio stream of a ``.stem.mp4`` (or any multi-stream) file.

    Returns ``({name: (channels, samples) float32}, sample_rate)``; the first entry is the
    mixture. Streams are trimmed to a common length.
    """
    path = Path(path)
    check_readable(path)
    streams, sample_rate = _read_pyav(path, all_streams=True)
    length = min(a.shape[-1] for a in streams.values())
    return {k: _finish(v[:, :length], path) for k, v in streams.items()}, sample_rate


def resample(audio: np.ndarray, rate_in: int, rate_out: int, length: int | None = None
             ) -> np.ndarray:
    """Resample ``(..., samples)`` from ``rate_in`` to ``rate_out`` Hz with soxr (high quality);
    ``length``: the output cut or zero-padded to that many samples (the length of the signal
    a round trip started from)."""
    if rate_in == rate_out:
        out = audio
    else:
        import soxr

        flat = audio.reshape(-1, audio.shape[-1])
        out = soxr.resample(flat.T, rate_in, rate_out, quality="HQ").T
        out = np.ascontiguousarray(out.reshape(*audio.shape[:-1], out.shape[-1]),
                                   dtype=audio.dtype)
    if length is None or out.shape[-1] == length:
        return out
    pad = [(0, 0)] * (out.ndim - 1) + [(0, max(0, length - out.shape[-1]))]
    return np.pad(out, pad)[..., :length]


def _subtype(path: Path, bits: int) -> str:
    fmt = path.suffix.lower().lstrip(".")
    subtype = WRITE_SUBTYPES.get((fmt, bits))
    if subtype is None:
        raise UnweaveError(f"cannot write {bits}-bit {fmt or 'files without an extension'}; "
                           "use .wav (16/24/32) or .flac (16/24)")
    return subtype


class AudioWriter:
    """Write ``(channels, samples)`` blocks to ``path`` through a temporary file beside it.

    :meth:`commit` renames the finished file into place; :meth:`abort` (or leaving a ``with``
    block by an exception, Ctrl-C included) removes the temporary file, so a failed write
    leaves neither a half-written target nor a stray temporary file. Write errors (a full
    disk, a permission error) become :class:`UnweaveError` naming the file and the cause.
    Integer formats clip to [-1, 1].
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int, channels: int, *,
                 bits: int = 32, overwrite: bool = False):
        self.path = Path(path)
        subtype = _subtype(self.path, bits)
        if self.path.exists() and not overwrite:
            raise UnweaveError(f"{self.path}: exists (use --force to overwrite)")
        if subtype.startswith("PCM") and self.path.suffix.lower() == ".flac" and channels > 8:
            raise UnweaveError(f"{self.path}: FLAC holds at most 8 channels, this has "
                               f"{channels} (use --format wav)")
        self._clip = subtype != "FLOAT"
        self._tmp: Path | None = None
        self._file: sf.SoundFile | None = None
        try:
            self._tmp = temporary_beside(self.path)
            self._file = sf.SoundFile(native_path(self._tmp), "w", sample_rate, channels,
                                      subtype, format=self.path.suffix.lstrip(".").upper())
        except (OSError, sf.LibsndfileError, RuntimeError) as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException):
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines() or [""])[0]
        if self._file is not None and isinstance(exc, sf.LibsndfileError):
            detail = sf._ffi.string(sf._snd.sf_strerror(self._file._file)).decode(errors="replace")
            reason = detail.removeprefix("System error :").strip().rstrip(".") or reason
        self.abort()
        raise UnweaveError(f"{self.path}: cannot write ({reason or type(exc).__name__})") \
            from None

    def write(self, block: np.ndarray) -> None:
        """Append ``(channels, samples)``."""
        data = np.asarray(block, dtype=np.float32).T
        if self._clip:
            data = np.clip(data, -1.0, 1.0)
        try:
            self._file.write(data)
        except (OSError, sf.LibsndfileError, RuntimeError) as exc:
            self._fail(exc)

    def commit(self) -> Path:
        """Finish the file and rename it into place."""
        try:
            self._file.close()
            os.replace(self._tmp, self.path)
        except (OSError, sf.LibsndfileError, RuntimeError) as exc:
            self._fail(exc)
        self._file = self._tmp = None
        return self.path

    def abort(self) -> None:
        """Drop the temporary file (nothing is written to ``path``)."""
        if self._file is not None:
            try:
                self._file.close()
            except (OSError, sf.LibsndfileError, RuntimeError):
                pass
            self._file = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_audio(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    *,
    bits: int = 32,
    overwrite: bool = False,
) -> Path:
    """Write ``(channels, samples)`` audio to WAV or FLAC, atomically (see :class:`AudioWriter`).

    ``bits`` is 16 or 24 (integer PCM) or 32 (float, WAV only). Integer formats clip to
    [-1, 1]. Raises :class:`UnweaveError` if the file exists and ``overwrite`` is false.
    """
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[None]
    with AudioWriter(path, sample_rate, audio.shape[0], bits=bits, overwrite=overwrite) as out:
        out.write(audio)
    return Path(path)


def read_sources(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], int]:
    """Read the true sources of a track: a folder of ``<source>.<ext>`` audio files, or a
    ``.stem.mp4`` whose streams after the mixture are the sources.

    Returns ``({name: (channels, samples)}, sample_rate)``, names sorted; a ``mixture`` file in
    the folder is left out. All sources must share the sample rate; lengths are trimmed to the
    shortest.
    """
    path = Path(path)
    if is_stem_file(path):
        streams, rate = read_stems(path)
        streams.pop("mixture", None)
        return streams, rate
    if not path.is_dir():
        raise AudioReadError(f"{path}: not a folder of source files or a .stem.mp4 file")
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in AUDIO_FILE_SUFFIXES
                   and not p.name.lower().endswith(".stem.mp4")
                   and p.stem.lower() != "mixture")
    if not files:
        raise AudioReadError(f"{path}: holds no source audio files")
    stems = [f.stem.lower() for f in files]
    if len(set(stems)) != len(stems):
        twice = sorted({s for s in stems if stems.count(s) > 1})
        raise AudioReadError(f"{path}: more than one file for source {', '.join(twice)}")
    sources, rates = {}, set()
    for f in files:
        sources[f.stem], rate = read_audio(f)
        rates.add(rate)
    if len(rates) != 1:
        raise AudioReadError(f"{path}: source files have different sample rates {sorted(rates)}")
    length = min(a.shape[-1] for a in sources.values())
    return {k: v[:, :length] for k, v in sources.items()}, rates.pop()
