"""`unweave evaluate` end to end against `museval.evaluate` in-process (issue 16, part 2).

Four stereo stems of 30 s at 44.1 kHz (the SiSEC 2011 NZ Tour tracks, looped) as references;
estimates are the references with 10% cross-talk of the others and a little noise, written as
WAV. Timed: the whole command (`unweave evaluate --reference R --estimate E --json out.json`,
a fresh process: start-up, reading, BSS Eval v4, writing) against `museval.evaluate(refs, ests)`
on arrays already in memory; the medians of the four metrics must agree within 0.01 dB.

Run: .venv/bin/python benchmarks/bench_evaluate.py   (needs museval: the `peers` extra)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from common import DATA, machine

NAMES = ["bass", "drums", "guitar", "vocals"]


def stems() -> tuple[np.ndarray, np.ndarray]:
    """References and estimates ``(4, 30 * 44100, 2)`` (museval's layout), float32."""
    n = 30 * 44100
    rng = np.random.default_rng(0)
    folder = DATA / "sisec2011_music_dev/Ultimate_NZ_Tour/Tracks"
    refs = []
    for name in NAMES:
        path = folder / f"dev2__ultimate_nz_tour__snip_43_61__{name}.flac"
        if path.exists():
            audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
            audio = np.tile(audio, (-(-n // len(audio)), 1))[:n]
        else:
            audio = 0.1 * rng.standard_normal((n, 2)).astype(np.float32)
        refs.append(audio)
    refs = np.stack(refs)
    ests = 0.9 * refs + 0.1 * (refs.sum(0, keepdims=True) - refs)
    ests += 0.003 * rng.standard_normal(ests.shape)
    return refs, ests.astype(np.float32)


def main() -> None:
    import museval

    refs, ests = stems()
    with tempfile.TemporaryDirectory() as tmp:
        for folder, arrays in (("ref", refs), ("est", ests)):
            (Path(tmp) / folder).mkdir()
            for name, audio in zip(NAMES, arrays, strict=True):
                sf.write(str(Path(tmp) / folder / f"{name}.wav"), audio, 44100,
                         subtype="FLOAT")
        # The files hold float32: score exactly what the command reads.
        command = [str(Path(sys.executable).parent / "unweave"), "evaluate", "--reference",
                   f"{tmp}/ref", "--estimate", f"{tmp}/est", "--json", f"{tmp}/out.json",
                   "--force", "--quiet"]
        # Python's default: bytecode cached after the first run. (This development machine's
        # shell sets PYTHONDONTWRITEBYTECODE=1, which recompiles the package on every start.)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - start)
        ours = statistics.median(times)
        result = json.loads(Path(f"{tmp}/out.json").read_text())
        start = time.perf_counter()
        sdr, isr, sir, sar = museval.evaluate(refs, ests)
        peer = time.perf_counter() - start
    track = result[0] if isinstance(result, list) else result
    diff = 0.0
    for k, name in enumerate(NAMES):
        for metric, theirs in (("SDR", sdr), ("ISR", isr), ("SIR", sir), ("SAR", sar)):
            mine = np.nanmedian(np.array(_scores(track, name, metric), float))
            diff = max(diff, abs(mine - np.nanmedian(theirs[k])))
    print(f"machine: {machine()}")
    print(f"unweave evaluate (whole command, median of 5): {ours:.2f} s "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    print(f"museval.evaluate in-process: {peer:.2f} s")
    print(f"ratio: {peer / ours:.1f}x; largest difference of the medians: {diff:.2e} dB")


def _scores(track: dict, source: str, metric: str) -> list:
    """Per-window values of one metric from `unweave evaluate --json` output."""
    for target in track.get("targets", []):
        if target["name"] == source:
            return [frame["metrics"][metric] for frame in target["frames"]]
    return track["scores"][source][metric]


if __name__ == "__main__":
    main()
