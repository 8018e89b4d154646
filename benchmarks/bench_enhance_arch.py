"""Choosing the speech-enhancement network (issue 14): candidates trained with the `enhance`
recipe on the same data for the same wall-clock budget, one CPU thread each, side by side;
scored on held-out *training* speakers (validation), never on the test speakers or noises.

Run: .venv/bin/python benchmarks/bench_enhance_arch.py CORPORA OUT_DIR [MINUTES]
(CORPORA: the folder holding speechocean762, nonspeech-noise, mir1k, musdb18-7s staged by
../shared/tools/stage-dataset; default 30 minutes each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import DATA

CANDIDATES = {
    "gains (RNNoise-style)": {"hidden": 96, "layers": 2, "df_order": 0},
    "gains + deep filter (DeepFilterNet-style)": {"hidden": 96, "layers": 2, "df_order": 3},
}

#: Noise types kept for the test set (docs/benchmarks.md): never trained on.
TEST_NOISES = ["n8[1-9].wav", "n9?.wav", "n100.wav", "exercise_bike.wav"]


def data_flags(corpora: Path) -> list[str]:
    """The `unweave train enhance` data flags of the bundled model."""
    return ["--speech", str(corpora / "speechocean762" / "train"),
            "--noise", str(corpora / "nonspeech-noise" / "Nonspeech"),
            str(DATA / "speech_commands_noise"),
            "--music", str(corpora / "mir1k" / "Wavfile"), str(corpora / "musdb18-7s"),
            "--rirs", str(DATA / "rsmnmf_office_rirs_32ch"),
            "--exclude", *TEST_NOISES]


def main(corpora: str, out: str, minutes: float = 30.0) -> list[str]:
    corpora, out_dir = Path(corpora).expanduser(), Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = []
    for i, args in enumerate(CANDIDATES.values()):
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in args.items()]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "unweave", "train", "enhance", *data_flags(corpora),
             *flags, "--epochs", "1000", "--max-minutes", str(minutes), "-q", "--resume",
             "--out", str(out_dir / f"c{i}.pt")], env=env))
    for p in procs:
        p.wait()
    lines = [f"Candidates trained {minutes:.0f} minutes each on one thread, side by side (the "
             "`enhance` recipe: speechocean762 train speakers in noise, music and rooms; 4 s "
             "examples, batch 16); SI-SDR improvement (dB) on 64 fixed examples of 12 held-out "
             "training speakers, best epoch", "",
             "| network | parameters | epochs of 100 x 16 | validation SI-SDRi | "
             "s per 60 s live in 10 ms blocks (1 thread) |", "|---|---|---|---|---|"]
    from unweave.nn.checkpoint import load_model
    from unweave.nn.realtime import stream_offline

    for i, (label, args) in enumerate(CANDIDATES.items()):
        model, info = load_model(out_dir / f"c{i}.best.pt")
        history = info["training"]["history"]
        x = (0.1 * np.random.default_rng(0).standard_normal((1, 16000 * 60))).astype(np.float32)
        start = time.perf_counter()
        stream_offline(model, x, 160)
        seconds = time.perf_counter() - start
        params = sum(p.numel() for p in model.parameters())
        lines.append(f"| {label} {args} | {params:,} | {len(history['validation'])} | "
                     f"{max(history['validation']):.2f} | {seconds:.1f} |")
        (out_dir / f"c{i}.json").write_text(json.dumps(history))
    return lines


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    print("\n".join(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3
                         else 30.0)))
