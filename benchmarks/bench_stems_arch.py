"""Choosing the four-stem network (issue 13): candidates trained on the same MUSDB18 7-s
`train/` tracks (the 14 standard validation tracks held out) for the same wall-clock budget,
one CPU thread each, side by side; scored on those validation tracks only (never on test).

Run: .venv/bin/python benchmarks/bench_stems_arch.py ~/corpora/musdb18-7s OUT_DIR [MINUTES]
(two training processes at once, MINUTES each, default 40); then the table of each candidate's
best checkpoint: validation SDR per stem (median over 1 s windows, mean over tracks), the
epochs done, parameters, and seconds to separate 60 s of stereo 44.1 kHz on 2 threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CANDIDATES = {
    "umx": {"hidden": 192, "layers": 3},
    "mtunet": {"channels": [16, 32, 64, 128, 256]},
}

TRAIN = """
import json, sys, torch
from unweave.nn.models import build
from unweave.nn.train.loop import TrainConfig, train
from unweave.nn.train.recipes import RECIPES, MusicData, music_task
data, arch, args, out, minutes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), \\
    sys.argv[4], float(sys.argv[5])
recipe = RECIPES["stems"]
task, _ = music_task(recipe, MusicData([data]), 0, None)
torch.manual_seed(0)
model = build(arch, {"sources": list(recipe.sources), "sample_rate": 44100,
                     "audio_channels": 2, **args})
train(model, task, TrainConfig(1000, 100, recipe.batch, recipe.lr, clip_grad=recipe.clip_grad,
      max_minutes=minutes), out, "stems", resume=True, progress=False)
"""


def per_stem(model_path: Path, data: str) -> dict:
    import torch

    from unweave.data.datasets import music_validation
    from unweave.data.index import index_tracks
    from unweave.metrics import framewise_sdr
    from unweave.nn.apply import apply_model
    from unweave.nn.checkpoint import load_model
    from unweave.nn.train.recipes import MUSDB_VALIDATION

    model, info = load_model(model_path)
    tracks = [t for t in index_tracks(Path(data) / "train") if t.name in MUSDB_VALIDATION]
    scores = {s: [] for s in model.sources}
    for _, mixture, sources in music_validation(tracks, model.sources, 44100, 2, 10.0):
        est = apply_model(model, mixture)
        for j, s in enumerate(model.sources):
            v = framewise_sdr(sources[j], est[j], 44100)
            if np.any(np.isfinite(v)):
                scores[s].append(float(np.nanmedian(v)))
    torch.set_num_threads(2)
    x = (0.1 * np.random.default_rng(0).standard_normal((2, 44100 * 60))).astype(np.float32)
    start = time.perf_counter()
    apply_model(model, x)
    seconds = time.perf_counter() - start
    return {"stems": {s: float(np.mean(v)) for s, v in scores.items()},
            "epochs": info["training"]["epoch"], "seconds_60s": seconds,
            "parameters": sum(p.numel() for p in model.parameters()),
            "curve": info["training"]["history"]["validation"]}


def main(data: str, out: str, minutes: float = 40.0) -> list[str]:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = {arch: subprocess.Popen([sys.executable, "-c", TRAIN, data, arch, json.dumps(args),
                                     str(out_dir / f"{arch}.pt"), str(minutes)], env=env)
             for arch, args in CANDIDATES.items()}
    for p in procs.values():
        p.wait()
    lines = [f"Candidates trained {minutes:.0f} minutes each on one thread, side by side "
             "(MUSDB18 7-s train/, 80 tracks; the 14 validation tracks held out); best "
             "checkpoint by validation; SDR = median over 1 s windows, mean over the 14 "
             "validation tracks (dB)", "",
             "| network | parameters | epochs of 100 x 8 | vocals | drums | bass | other | "
             "mean | s per 60 s (2 threads) |", "|---|---|---|---|---|---|---|---|---|"]
    for arch in CANDIDATES:
        r = per_stem(out_dir / f"{arch}.best.pt", data)
        (out_dir / f"{arch}.json").write_text(json.dumps(r))
        st = r["stems"]
        lines.append(f"| {arch} {CANDIDATES[arch]} | {r['parameters']:,} | {r['epochs']} | "
                     + " | ".join(f"{st[s]:.2f}" for s in ("vocals", "drums", "bass", "other"))
                     + f" | {np.mean(list(st.values())):.2f} | {r['seconds_60s']:.1f} |")
    return lines


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3
                         else 40.0)))
