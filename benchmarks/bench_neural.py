"""Networks (issue 6): held-out quality of the bundled U-Net and of a DRNN, paired-only against
paired + adversarial training on the same budget, and inference speed and memory.

Run: .venv/bin/python benchmarks/bench_neural.py   (about 6 minutes on 2 cores)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DATA, ROOT, machine

from unweave.audio import write_audio
from unweave.data.index import index_tracks
from unweave.methods import get_method
from unweave.metrics.results import evaluate_sources
from unweave.nn import checkpoint
from unweave.nn.models import build
from unweave.nn.train.loop import TrainConfig, train
from unweave.nn.train.recipes import RECIPES, MusicData, music_task

#: What the models trained here learn from: the MIR-1K excerpts of ``../shared/data`` (its
#: MUSDB18 excerpts are test songs, never trained on).
FOLDERS = ["mir1k_songs/audio"]
#: The MIR-1K singers held out of every model here, the bundled one included.
HELD_OUT_SINGERS = ("Ani", "davidson")
#: Folders of MUSDB18 test songs in ``../shared/data`` (stem folders), never trained on.
MUSDB_TEST_FOLDERS = ("musdb18_7s_songs", "musdb18_7s_mu_too_bright")


def vocals_sdr(vocals: np.ndarray, estimate: np.ndarray, rate: int) -> float:
    return evaluate_sources({"v": vocals}, {"v": estimate}, rate).medians()["v"]["SDR"]


def held_out_table(drnn_path: Path) -> list[str]:
    """Vocals SDR on data no model here trained on: the held-out MIR-1K singers' clips and the
    MUSDB18 test songs of ``../shared/data``."""
    clips = [t for f in FOLDERS for t in index_tracks(DATA / f) if t.group in HELD_OUT_SINGERS]
    songs = [t for f in MUSDB_TEST_FOLDERS for t in index_tracks(DATA / f)]
    rows: dict[str, list[float]] = {}
    methods = {"mixture (lower bound)": None, "repet-sim": ("repet-sim", {}),
               "unet (bundled)": ("unet", {}), "drnn (trained here)": ("drnn",
                                                                       {"model": str(drnn_path)}),
               "irm (upper bound)": ("irm", {})}
    sources = RECIPES["unet"].sources
    for track in clips + songs:
        vocals, accomp = (track.read(n, 0, track.frames, sources) for n in sources)
        mix, rate = vocals + accomp, track.sample_rate
        for label, spec in methods.items():
            if spec is None:
                est = mix
            elif spec[0] == "irm":
                est = get_method("irm")()(mix, rate, references={"v": vocals, "a": accomp})["v"]
            else:
                est = get_method(spec[0])(**spec[1])(mix, rate)["vocals"]
            rows.setdefault(label, []).append(vocals_sdr(vocals, est, rate))
    n_mir = len(clips)
    lines = [f"Held-out data: {n_mir} MIR-1K clips of singers not used in training "
             f"({', '.join(HELD_OUT_SINGERS)}) and {len(songs)} MUSDB18 test excerpts "
             "(44.1 kHz); vocals SDR (BSS Eval v4), means", "",
             "| method | MIR-1K held-out singers | MUSDB18 test excerpts |", "|---|---|---|"]
    for label, values in rows.items():
        lines.append(f"| {label} | {np.mean(values[:n_mir]):.2f} | "
                     f"{np.mean(values[n_mir:]):.2f} |")
    return lines


def _task(names: list[str] | None = None, unpaired: str | None = None):
    """MIR-1K excerpts with the held-out singers as validation; ``names`` keeps only those
    training tracks (the validation tracks stay)."""
    options = MusicData([str(DATA / f) for f in FOLDERS], valid=list(HELD_OUT_SINGERS),
                        unpaired=unpaired, adversarial=0.1)
    task, adversary = music_task(RECIPES["unet"], options, 0, None)
    if names is not None:
        task.examples.tracks = [t for t in task.examples.tracks if t.name in names]
        task.info["split"]["train"] = sorted(names)
    return task, adversary


def adversarial_table(steps=60, epochs=6) -> list[str]:
    """The same budget with and without unpaired data: paired = a third of the training
    tracks; the unpaired mixtures and vocals come from the other tracks (never as pairs),
    written as files into mixtures/ and vocals/ as a user would give them."""
    task, _ = _task()
    tracks = task.examples.tracks
    rng = np.random.default_rng(0)
    order = rng.permutation(len(tracks))
    third = len(order) // 3
    paired = [tracks[i].name for i in order[:third]]
    mix_from = [tracks[i] for i in order[third: 2 * third]]
    voc_from = [tracks[i] for i in order[2 * third:]]
    curves = {}
    with tempfile.TemporaryDirectory() as tmp:
        unpaired = Path(tmp) / "unpaired"
        for part, group in (("mixtures", mix_from), ("vocals", voc_from)):
            (unpaired / part).mkdir(parents=True)
            for t in group:
                n = t.frames
                audio = t.read("vocals", 0, n, RECIPES["unet"].sources)
                if part == "mixtures":
                    audio = audio + t.read("accompaniment", 0, n, RECIPES["unet"].sources)
                write_audio(unpaired / part / f"{t.name}.wav", audio, t.sample_rate)
        for label, with_unpaired in (("paired only", False),
                                     ("paired + adversarial (0.1)", True)):
            task, adversary = _task(paired, str(unpaired) if with_unpaired else None)
            torch_seed(0)
            model = build("unet", {"channels": [16, 32, 64, 128]})
            start = time.perf_counter()
            history = train(model, task, TrainConfig(epochs, steps, 8, 1e-3),
                            Path(tmp) / "m.pt", "unet", adversary=adversary, progress=False)
            curves[label] = (history["validation"], time.perf_counter() - start)
    lines = [f"Paired-only against paired + adversarial, same budget ({epochs} epochs x {steps} "
             f"batches of 8): {len(paired)} paired tracks; unpaired: {len(mix_from)} mixtures and "
             f"{len(voc_from)} other tracks' vocals; validation SDR per epoch (dB)", "",
             "| training | " + " | ".join(f"ep {i + 1}" for i in range(epochs)) +
             " | final | seconds |", "|---|" + "---|" * (epochs + 2)]
    for label, (curve, secs) in curves.items():
        lines.append(f"| {label} | " + " | ".join(f"{v:.2f}" for v in curve) +
                     f" | {curve[-1]:.2f} | {secs:.0f} |")
    return lines


def torch_seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


SPEED_SCRIPT = """
import resource, sys, time
from unweave.cli import main
start = time.perf_counter()
code = main(["separate", sys.argv[1], "-m", "unet", "-o", sys.argv[2], "-q"])
seconds = time.perf_counter() - start
print(code, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _write_noise_song(path: Path, minutes: float) -> None:
    """A stereo 44.1 kHz float WAV written block by block (so writing it costs no memory)."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", 44100, 2, "FLOAT") as f:
        for _ in range(int(minutes * 6)):
            f.write((0.1 * rng.standard_normal((441000, 2))).astype(np.float32))


def speed_table() -> list[str]:
    lines = ["`unweave separate song.wav -m unet` on CPU (2 cores): stereo 44.1 kHz float WAV, "
             "bundled unet; the file is read, separated and written in 60 s blocks (the "
             "command's default --chunk-seconds); peak memory = the process's maximum "
             "resident set, imports included", "",
             "| song length | seconds | real-time factor | peak memory (MiB) | the song's size "
             "(MiB) |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (3, 10):
            song = Path(tmp) / f"song{minutes}.wav"
            _write_noise_song(song, minutes)
            # Under /usr/bin/time: a child forked from this (large) process would count this
            # process's resident memory in its own peak (Linux keeps it across exec).
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c",
                                   SPEED_SCRIPT, str(song), str(Path(tmp) / f"out{minutes}")],
                                  capture_output=True, text=True, check=True)
            out = proc.stdout.split()
            code, seconds = int(out[0]), float(out[1])
            peak = int(proc.stderr.strip().splitlines()[-1]) / 1024
            assert code == 0
            size = song.stat().st_size / 2**20
            lines.append(f"| {minutes} min | {seconds:.1f} | {seconds / (minutes * 60):.3f} | "
                         f"{peak:.0f} | {size:.0f} |")
    return lines


def main() -> list[str]:
    out = [f"Machine: {machine()}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        drnn = Path(tmp) / "drnn.pt"
        task, _ = _task()
        torch_seed(0)
        model = build("drnn", {"hidden": 256})
        start = time.perf_counter()
        train(model, task, TrainConfig(8, 100, 8, 1e-3, clip_grad=RECIPES["drnn"].clip_grad),
              drnn, "drnn", progress=False)
        out += ["DRNN trained here on the MIR-1K excerpts but the held-out singers: 8 epochs "
                f"x 100 batches, {time.perf_counter() - start:.0f} s", ""]
        out += held_out_table(drnn) + [""]
    out += adversarial_table() + [""]
    out += speed_table()
    info = checkpoint.load(ROOT / "src/unweave/nn/weights/unet_mir1k.pt")["training"]
    out += ["", "Bundled model: " + json.dumps({"epochs": info["epoch"],
                                                 "final validation SDR": info["history"]
                                                 ["validation"][-1]})]
    return out


if __name__ == "__main__":
    print("\n".join(main()))
