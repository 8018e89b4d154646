"""Fuzz the audio readers: random bytes, WAV files with corrupted headers, truncated files,
and MP4/AAC files with corrupted or cut bytes, under audio suffixes (soundfile and PyAV
paths). Each case is read whole (`read_audio`) and block by block to its end
(`open_blocks`). Every read must give audio or an AudioReadError: no other exception, no
crash. Run:
.venv/bin/python benchmarks/fuzz_reader.py [cases] [seed]
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from unweave.audio import read_audio
from unweave.blocks import open_blocks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from hostile import write_aac  # noqa: E402

from unweave.errors import AudioReadError


def main(cases: int = 6000, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    sf.write(buf, (0.1 * rng.standard_normal((800, 2))).astype(np.float32), 8000, format="WAV",
             subtype="PCM_16")
    good = buf.getvalue()
    outcomes = {"audio": 0, "AudioReadError": 0, "blocks": 0, "blocks: read whole instead": 0,
                "blocks AudioReadError": 0}
    crashes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        aac = _aac_bytes(Path(tmp) / "good.m4a", rng)
        for i in range(cases):
            kind = i % 5
            if kind == 3:  # an MP4/AAC file with bytes changed anywhere
                b = bytearray(aac)
                for _ in range(int(rng.integers(1, 20))):
                    b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
                data = bytes(b)
            elif kind == 4:  # an MP4/AAC file cut short
                data = aac[: int(rng.integers(0, len(aac)))]
            elif kind == 0:
                data = rng.bytes(int(rng.integers(0, 400)))
            elif kind == 1:
                b = bytearray(good)
                for _ in range(int(rng.integers(1, 8))):
                    b[int(rng.integers(0, 60))] = int(rng.integers(0, 256))
                data = bytes(b)
            else:
                data = good[: int(rng.integers(0, len(good)))]
            suffix = ".m4a" if kind >= 3 else [".wav", ".flac", ".mp3", ".m4a"][i % 4]
            path = Path(tmp) / f"case{i}{suffix}"
            path.write_bytes(data)
            for name, read in (("audio", _read_whole), ("blocks", _read_blocks)):
                try:
                    streamed = read(path)
                    outcomes["blocks: read whole instead" if streamed is False else name] += 1
                except AudioReadError:
                    outcomes[f"{name} AudioReadError" if name == "blocks"
                             else "AudioReadError"] += 1
                except Exception as exc:  # noqa: BLE001 - counting what must not happen
                    key = f"{name}: {type(exc).__name__}: {str(exc)[:60]}"
                    crashes[key] = crashes.get(key, 0) + 1
            path.unlink()
    return f"{cases} cases (seed {seed}): {outcomes}; crashes: {crashes or 0}"


def _read_whole(path: Path) -> None:
    audio, rate = read_audio(path)
    assert audio.ndim == 2 and audio.shape[1] > 0 and rate > 0
    assert np.isfinite(audio).all()


def _read_blocks(path: Path) -> bool:
    """Read to the end in blocks of 1000 samples overlapping by 100, as streaming does; False
    when the file cannot be read in blocks (unweave then reads it whole)."""
    blocks = open_blocks(path)
    if blocks is None:
        return False
    with blocks:
        start = 0
        while True:
            piece = blocks.read(start, 1001)
            assert piece.ndim == 2 and piece.shape[0] == blocks.channels
            if piece.shape[1] <= 1000:
                return True
            start += 900


def _aac_bytes(path: Path, rng: np.random.Generator) -> bytes:
    """A valid 0.5 s stereo AAC file in MP4."""
    return write_aac(path, 0.1 * rng.standard_normal((2, 8000)), 16000).read_bytes()


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:3])))
