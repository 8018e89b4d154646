"""Training throughput on this machine's CPU cores: examples per second of `unweave train unet`
(the bundled model's recipe: 2.03 s excerpts, batch 8, U-Net 16..128) before the neural rebuild
(every example read from arrays loaded into memory, STFT features made in the training loop)
and after it (examples read lazily from the files and mixed on the fly by DataLoader workers).

Run: git worktree add /tmp/before 32d15dc
     .venv/bin/python benchmarks/bench_training.py --before /tmp/before/src \
         --corpus ~/corpora/mir1k/Wavfile
(without --before only the current code is timed). Each figure is the median of 3 runs of
`steps` optimiser steps (validation and loading excluded), in a fresh process each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import DATA, ROOT, machine

# MIR-1K excerpts only: the MUSDB18 excerpts of ../shared/data are test songs, never trained on.
FOLDERS = [str(DATA / "mir1k_songs/audio")]

BEFORE = """
import sys, time
from unweave.data.datasets import load_tracks, split_by_group
from unweave.nn.train import TrainConfig, train
tracks = [t for f in sys.argv[2:] for t in load_tracks(f, 16000)]
train_t, _ = split_by_group(tracks, 0.15, 0)
config = TrainConfig("unet", {"channels": [16, 32, 64, 128]}, 1, int(sys.argv[1]), 8, 128)
start = time.perf_counter()
train(config, train_t, [], "/tmp/bench_before.pt", progress=False)
print(time.perf_counter() - start)
"""

AFTER = """
import sys, time
import torch
from unweave.nn.models import build
from unweave.nn.train.loop import TrainConfig, train
from unweave.nn.train.recipes import RECIPES, MusicData, music_task
steps, workers = int(sys.argv[1]), int(sys.argv[2])
task, _ = music_task(RECIPES["unet"], MusicData(sys.argv[3:]), 0, None)
task.validate = lambda model, device: float("nan")
torch.manual_seed(0)
model = build("unet", {"channels": [16, 32, 64, 128]})
start = time.perf_counter()
train(model, task, TrainConfig(1, steps, 8, workers=workers), "/tmp/bench_after.pt", "unet",
      progress=False)
print(time.perf_counter() - start)
"""


def _run(script: str, args: list[str], src: str) -> tuple[float, float]:
    """``(seconds, peak MiB)`` of ``script`` in a fresh process (peak from /usr/bin/time, so
    this process's memory is not counted in the child's)."""
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", script, *args],
                          capture_output=True, text=True, check=True, env=env)
    return float(proc.stdout.split()[0]), int(proc.stderr.strip().splitlines()[-1]) / 1024


def main(before: str | None = None, steps: int = 40, repeat: int = 3,
         corpus: str | None = None) -> list[str]:
    """``corpus``: also time both on a larger data folder (the full MIR-1K ``Wavfile/``)."""
    rows = []
    sets = [("shared MIR-1K excerpts (95 clips)", FOLDERS)]
    if corpus:
        sets.append((f"{Path(corpus).name} ({corpus})", [corpus]))
    for data_label, folders in sets:
        cases = []
        if before:
            cases.append(("before: arrays in memory, features in the loop", BEFORE,
                          [str(steps)], before))
        for workers in (0, 1, 2):
            cases.append((f"after: lazy files, DataLoader, {workers} worker(s)", AFTER,
                          [str(steps), str(workers)], str(ROOT / "src")))
        for label, script, args, src in cases:
            runs = [_run(script, args + folders, src) for _ in range(repeat)]
            seconds = statistics.median(r[0] for r in runs)
            rows.append((data_label, label, seconds, steps * 8 / seconds,
                         max(r[1] for r in runs)))
    lines = [f"Machine: {machine()}; {steps} steps of 8 examples (2.03 s at 16 kHz), median of "
             f"{repeat} runs", "", "| data | training data path | seconds | examples per second "
             "| peak memory (MiB) |", "|---|---|---|---|---|"]
    for data_label, label, seconds, rate, peak in rows:
        lines.append(f"| {data_label} | {label} | {seconds:.1f} | {rate:.1f} | {peak:.0f} |")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="src/ of the code before the rebuild")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--corpus", help="a larger data folder, e.g. ~/corpora/mir1k/Wavfile")
    a = parser.parse_args()
    print("\n".join(main(a.before, a.steps, corpus=a.corpus)))
