"""Hostile and unusual input files: each case writes one file and says what unweave must do
with it ("works": exit 0; "error": one line and exit status 2).

Used by ``tests/test_hostile.py`` and ``benchmarks/hostile_inputs.py`` (the matrix in
``docs/reliability.md``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]  # folder -> the file written in it
    expect: str  # "works" or "error"
    method: str = "hpss"
    options: tuple[str, ...] = ()


def noise(channels: int, frames: int, seed: int = 0, level: float = 0.1) -> np.ndarray:
    """``(channels, frames)`` float32 noise plus a tone, so there is something to separate."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 8000
    tone = 0.2 * np.sin(2 * np.pi * 440 * t)
    return (level * rng.standard_normal((channels, frames)) + tone).astype(np.float32)


def wav_header(channels: int, rate: int, bits: int, data_bytes: int, *, fmt_tag: int = 1,
               riff_bytes: int | None = None, block_align: int | None = None) -> bytes:
    """A canonical 44-byte WAV header whose fields may lie."""
    align = channels * bits // 8 if block_align is None else block_align
    riff = 36 + data_bytes if riff_bytes is None else riff_bytes
    return (b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, fmt_tag, channels & 0xFFFF, rate & 0xFFFFFFFF,
                          (rate * align) & 0xFFFFFFFF, align & 0xFFFF, bits)
            + b"data" + struct.pack("<I", data_bytes & 0xFFFFFFFF))


def _pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio.T, -1, 1) * 32767).astype("<i2").tobytes()


def _raw(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path
    return make


def _sf(name: str, audio: Callable[[], np.ndarray], rate: int, subtype: str | None = None,
        fmt: str | None = None) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        sf.write(path, audio().T, rate, subtype=subtype, format=fmt)
        return path
    return make


def write_aac(path: Path, audio: np.ndarray, rate: int) -> Path:
    """Stereo ``(2, samples)`` audio as AAC in an MP4 file."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio, np.float32),
                                           format="fltp", layout="stereo")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def _m4a(name: str, audio: Callable[[], np.ndarray], rate: int) -> Callable[[Path], Path]:
    return lambda folder: write_aac(folder / name, audio(), rate)


SECOND = 16000
STEREO = 2


def _one_second() -> np.ndarray:
    return noise(STEREO, SECOND)


def broken_cases() -> list[Case]:
    """Files that are not (or not quite) audio: most must fail with one line. libsndfile
    reads a few lying headers anyway (an absurd RIFF size, 7-bit samples): those work."""
    good = _pcm16(_one_second())
    rng = np.random.default_rng(0)
    return [
        Case("random bytes (.wav)", _raw("random.wav", rng.bytes(5000)), "error"),
        Case("random bytes (.m4a)", _raw("random.m4a", rng.bytes(5000)), "error"),
        Case("text file named .flac", _raw("notes.flac", b"hello, not audio\n" * 50), "error"),
        Case("zero-byte file", _raw("empty.wav", b""), "error"),
        Case("header only, no samples",
             _raw("header_only.wav", wav_header(2, SECOND, 16, 0)), "error"),
        Case("truncated (half the data)",
             _raw("truncated.wav", wav_header(2, SECOND, 16, len(good)) + good[: len(good) // 2]),
             "error"),
        Case("header declares 2 GiB of data",
             _raw("huge_length.wav", wav_header(2, SECOND, 16, 0x7FFFFFF0) + good), "error"),
        Case("RIFF size absurd, data size right",
             _raw("riff_size.wav", wav_header(2, SECOND, 16, len(good), riff_bytes=0xFFFFFFF0)
                  + good), "works"),
        Case("header declares 65535 channels",
             _raw("many_channels.wav", wav_header(65535, SECOND, 16, len(good)) + good),
             "error"),
        Case("header declares 0 channels",
             _raw("zero_channels.wav", wav_header(0, SECOND, 16, len(good)) + good), "error"),
        Case("header declares 0 Hz",
             _raw("zero_rate.wav", wav_header(2, 0, 16, len(good)) + good), "error"),
        Case("header declares 4 GHz",
             _raw("giga_rate.wav", wav_header(2, 0xFFFFFFF0, 16, len(good)) + good), "error"),
        Case("header declares 7-bit samples",
             _raw("seven_bits.wav", wav_header(2, SECOND, 7, len(good)) + good), "works"),
        Case("unknown format tag",
             _raw("format_tag.wav", wav_header(2, SECOND, 16, len(good), fmt_tag=0x1234) + good),
             "error"),
        Case("all silent", _sf("silent.wav", lambda: np.zeros((2, SECOND), np.float32), SECOND),
             "error"),
        Case("NaN samples (float WAV)",
             _sf("nan.wav", lambda: np.where(np.arange(SECOND) % 7 == 0, np.nan,
                                            _one_second()).astype(np.float32), SECOND, "FLOAT"),
             "error"),
        Case("Inf samples (float WAV)",
             _sf("inf.wav", lambda: np.where(np.arange(SECOND) == 100, np.inf,
                                            _one_second()).astype(np.float32), SECOND, "FLOAT"),
             "error"),
        Case("mono file for center (needs 2 channels)",
             _sf("mono_for_center.wav", lambda: noise(1, SECOND), SECOND), "error", "center"),
    ]


def unusual_cases() -> list[Case]:
    """Valid but unusual files: each must work."""
    cases = [
        Case("one sample", _sf("one_sample.wav", lambda: noise(1, 1), SECOND), "works"),
        Case("a few samples (100)", _sf("short.wav", lambda: noise(2, 100), SECOND), "works"),
        Case("clipping: float samples up to +-8",
             _sf("hot_float.wav", lambda: 8 * np.sign(_one_second()), SECOND, "FLOAT"),
             "works"),
        Case("clipping: full-scale square wave, 16-bit",
             _sf("square.wav", lambda: np.sign(_one_second()), SECOND, "PCM_16"), "works"),
        Case("DC offset only", _sf("dc.wav", lambda: np.full((2, SECOND), 0.5, np.float32),
                                   SECOND), "works"),
    ]
    for rate in (8000, 11025, 22050, 44100, 48000, 96000, 192000):
        cases.append(Case(f"{rate} Hz", _sf(f"rate_{rate}.wav", lambda r=rate: noise(2, 2 * r),
                                             rate), "works"))
    for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"):
        cases.append(Case(f"WAV {subtype}", _sf(f"wav_{subtype}.wav", _one_second, SECOND,
                                                subtype), "works"))
    for fmt, suffix, subtype in (("FLAC", "flac", "PCM_24"), ("OGG", "ogg", "VORBIS"),
                                 ("MP3", "mp3", "MPEG_LAYER_III"), ("AIFF", "aiff", "PCM_16"),
                                 ("WAV", "wav", "IMA_ADPCM"), ("RF64", "wav", "PCM_16"),
                                 ("W64", "w64", "FLOAT")):
        cases.append(Case(f"{fmt} {subtype}", _sf(f"fmt_{fmt}_{subtype}.{suffix}", _one_second,
                                                  SECOND, subtype, fmt), "works"))
    cases.append(Case("AAC in MP4 (.m4a)", _m4a("aac.m4a", lambda: noise(2, 2 * 44100), 44100),
                      "works"))
    for channels in (1, 2, 6, 16, 64):
        cases.append(Case(f"{channels} channels", _sf(f"ch_{channels}.wav",
                                                      lambda c=channels: noise(c, SECOND),
                                                      SECOND), "works"))
    return cases


def channel_grid() -> list[Case]:
    """Every family of method on 1, 2, 6 and 64 channels: works, or says what it needs."""
    methods = {"center": 2, "repet": 1, "nmf": 1, "gmm": 2, "ica": 2, "auxiva": 2,
               "ilrma": 2, "duet": 2, "unet": 1}
    cases = []
    for channels in (1, 2, 6, 64):
        for method, least in methods.items():
            expect = "works" if channels >= least else "error"
            if method in ("center", "duet", "gmm") and channels != 2:
                expect = "error"
            if method in ("ica", "auxiva", "ilrma") and channels > 16:
                expect = "error"  # at most 16 blind sources unless --sources says fewer
            cases.append(Case(f"{channels} ch, {method}", _grid_file(channels), expect, method))
    for method in ("ica", "auxiva", "ilrma"):
        cases.append(Case(f"64 ch, {method} --sources 4", _grid_file(64), "works", method,
                          ("--sources", "4")))
    return cases


def _grid_file(channels: int) -> Callable[[Path], Path]:
    return _sf(f"grid_{channels}.wav", lambda: noise(channels, 3 * SECOND), SECOND)
