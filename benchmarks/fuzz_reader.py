"""Fuzz the audio reader: random bytes, WAV files with corrupted headers and truncated files,
under audio suffixes (soundfile and PyAV paths). Every case must give audio or an
AudioReadError: no other exception, no crash. Run:
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
from unweave.errors import AudioReadError


def main(cases: int = 6000, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    sf.write(buf, (0.1 * rng.standard_normal((800, 2))).astype(np.float32), 8000, format="WAV",
             subtype="PCM_16")
    good = buf.getvalue()
    outcomes = {"audio": 0, "AudioReadError": 0}
    crashes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(cases):
            kind = i % 3
            if kind == 0:
                data = rng.bytes(int(rng.integers(0, 400)))
            elif kind == 1:
                b = bytearray(good)
                for _ in range(int(rng.integers(1, 8))):
                    b[int(rng.integers(0, 60))] = int(rng.integers(0, 256))
                data = bytes(b)
            else:
                data = good[: int(rng.integers(0, len(good)))]
            path = Path(tmp) / f"case{i}{['.wav', '.flac', '.mp3', '.m4a'][i % 4]}"
            path.write_bytes(data)
            try:
                audio, rate = read_audio(path)
                assert audio.ndim == 2 and audio.shape[1] > 0 and rate > 0
                assert np.isfinite(audio).all()
                outcomes["audio"] += 1
            except AudioReadError:
                outcomes["AudioReadError"] += 1
            except Exception as exc:  # noqa: BLE001 - counting what must not happen
                key = f"{type(exc).__name__}: {str(exc)[:60]}"
                crashes[key] = crashes.get(key, 0) + 1
            path.unlink()
    return f"{cases} cases (seed {seed}): {outcomes}; crashes: {crashes or 0}"


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:3])))
