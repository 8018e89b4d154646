"""Batch throughput (issue 7): `unweave separate -m hpss` over 20 copies of a 30 s stereo
44.1 kHz track with --jobs 2 against --jobs 1 (whole command, start-up included).

Run: .venv/bin/python benchmarks/bench_batch.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
from common import machine, music_30s


def main() -> list[str]:
    audio, rate, what = music_30s()
    lines = [f"Batch: 20 copies of 30 s ({what}), stereo {rate} Hz, `-m hpss`; {machine()}", "",
             "| --jobs | seconds | files per minute | speed-up |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        for i in range(20):
            sf.write(inputs / f"track{i:02d}.wav", audio.T, rate, subtype="PCM_16")
        base = None
        for jobs in (1, 2):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "unweave", "separate", str(inputs), "-m",
                            "hpss", "-o", str(Path(tmp) / f"out{jobs}"), "-q", "--jobs",
                            str(jobs)], check=True)
            seconds = time.perf_counter() - start
            base = base or seconds
            lines.append(f"| {jobs} | {seconds:.1f} | {20 / seconds * 60:.0f} | "
                         f"{base / seconds:.2f}x |")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
