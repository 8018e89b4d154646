"""Huang, Kim, Hasegawa-Johnson & Smaragdis (ISMIR 2014; IEEE/ACM TASLP 2015) on MIR-1K, under
their protocol (issue 19).

- Training and validation: the 175 clips of the singers ``abjones`` and ``amy`` (validation:
  every clip of the songs abjones_3, amy_4 and amy_10); test: every clip of every other staged
  singer (688 clips of 14 singers; the paper's 825 include the 3 singers that are reserved for
  evaluation and not staged here).
- Mixtures at 0 dB: voice and accompaniment scaled to equal energy, summed, mono 16 kHz.
- BSS Eval v3 ``bss_eval_sources`` on (voice, accompaniment) (unweave's, equal to mir_eval's
  to 1e-8 dB); NSDR = SDR(estimate) - SDR(mixture) per clip for the voice; GNSDR, GSIR and GSAR
  weighted by clip length.

Run (``make reproduce-huang2014 DATA=~/corpora/mir1k`` does both steps):
  .venv/bin/python benchmarks/bench_huang2014.py ~/corpora/mir1k/Wavfile --train-to huang2014
  .venv/bin/python benchmarks/bench_huang2014.py ~/corpora/mir1k/Wavfile \\
      "drnn (ours)=huang2014/drnn.best.pt" [LABEL=CHECKPOINT ...] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import machine

TRAIN_SINGERS = ("abjones", "amy")
PAPER = [  # (row, GNSDR, GSIR, GSAR) as the paper reports them (TASLP 2015, Table on MIR-1K)
    ("paper: RPCA (Huang et al. 2012)", 3.15, 4.43, 11.09),
    ("paper: MLRR (Yang 2013)", 3.85, 5.63, 10.70),
    ("paper: DRNN-2, joint mask, discriminative", 7.45, 13.08, 9.68),
]


VALIDATION_SONGS = ("abjones_3", "amy_4", "amy_10")


def train(wavfile: Path, out: Path, minutes: float, extra: list[str]) -> Path:
    """The protocol's training: a folder of links to the 175 training clips, then
    ``unweave train drnn-huang`` with the validation songs held out. Returns the best
    checkpoint."""
    import subprocess
    import sys

    train_clips, _ = clips(wavfile)
    folder = out / "train"
    folder.mkdir(parents=True, exist_ok=True)
    for f in train_clips:
        link = folder / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    valid = [f.stem for f in train_clips if f.stem.rsplit("_", 1)[0] in VALIDATION_SONGS]
    command = [str(Path(sys.executable).parent / "unweave"), "train", "drnn-huang",
               "--data", str(folder), "--valid", ",".join(valid), "--epochs", "1000",
               "--max-minutes", str(minutes), "--scheduler", "plateau", "--patience", "6",
               "--checkpoint-every", "50", "--seed", "0", "--out", str(out / "drnn.pt"),
               "--resume", *extra]
    print(" ".join(command), flush=True)
    subprocess.run(command, check=True)
    return out / "drnn.best.pt"


def clips(folder: Path) -> tuple[list[Path], list[Path]]:
    files = sorted(folder.glob("*.wav"))
    train = [f for f in files if f.stem.split("_")[0] in TRAIN_SINGERS]
    test = [f for f in files if f.stem.split("_")[0] not in TRAIN_SINGERS]
    return train, test


def zero_db(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(voice, accompaniment)`` ``(1, samples)`` float64 at equal energy (0 dB)."""
    from unweave.audio import read_audio

    audio, rate = read_audio(path)
    assert rate == 16000, path
    acc, voice = audio[0:1].astype(np.float64), audio[1:2].astype(np.float64)
    ev, ea = (voice**2).sum(), (acc**2).sum()
    if ev > 0 and ea > 0:
        acc = acc * np.sqrt(ev / ea)
    return voice, acc


def scores(voice, acc, est_voice, est_acc) -> tuple[float, float, float]:
    """SDR, SIR, SAR of the voice estimate (bss_eval_sources, no permutation)."""
    from unweave.metrics import bss_eval_sources

    r = bss_eval_sources(np.concatenate([voice, acc]), np.concatenate([est_voice, est_acc]),
                         compute_permutation=False)
    return float(r.sdr[0, 0]), float(r.sir[0, 0]), float(r.sar[0, 0])


def methods(checkpoints: dict[str, str], train: list[Path], baselines: bool = True):
    """``label -> separate(mixture) -> (voice, accompaniment)``."""
    from unweave.methods import get_method

    out = {}
    for label, path in checkpoints.items():
        sep = get_method("drnn")(model=path)
        out[label] = lambda m, s=sep: _pair(s(m, 16000))
    if not baselines:
        return out
    unet = get_method("unet")()
    out["unet (bundled; trained on the clips of 12 of these 14 singers)"] = \
        lambda m: _pair(unet(m, 16000))
    for name in ("repet", "repet-sim"):
        sep = get_method(name)()
        out[name] = lambda m, s=sep: _pair(s(m, 16000))
    out["nmf supervised (32 voice bases from the training singers, 16 free)"] = _nmf(train)
    return out


def _pair(sep) -> tuple[np.ndarray, np.ndarray]:
    other = [n for n in sep.names if n != "vocals"][0]
    return sep["vocals"], sep[other]


def _nmf(train: list[Path]):
    import tempfile

    from unweave.methods import get_method
    from unweave.methods.nmf import default_stft, save_bases, train_bases

    voices = [zero_db(f)[0] for f in train[::3]]  # every 3rd training clip (about 60)
    bases = train_bases(voices, 16000, n_components=32, n_iter=60)
    path = Path(tempfile.mkdtemp()) / "voice.npz"
    save_bases(path, bases, "vocals", 16000, default_stft(16000), 1.0)
    sep = get_method("nmf")(bases=str(path), n_components=16, n_iter=30)

    def run(m):
        s = sep(m, 16000)
        return s["vocals"], s["rest"]
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("wavfile", type=Path, help="MIR-1K Wavfile folder (staged)")
    parser.add_argument("checkpoints", nargs="*", help="LABEL=CHECKPOINT of drnn models")
    parser.add_argument("--quick", action="store_true", help="every 8th test clip")
    parser.add_argument("--no-baselines", action="store_true",
                        help="only the checkpoints (and the oracle and the mixture)")
    parser.add_argument("--on-validation", action="store_true",
                        help="score the validation clips (training singers, held-out songs) "
                        "instead of the test singers: how far the gap is the singers")
    parser.add_argument("--train-to", type=Path, help="train per the protocol into this folder "
                        "first (resumable), then evaluate that model")
    parser.add_argument("--minutes", type=float, default=150.0, help="training time limit")
    args, extra = parser.parse_known_args()
    if args.train_to:
        best = train(args.wavfile, args.train_to, args.minutes, extra)
        args.checkpoints = [*args.checkpoints, f"drnn (ours, this run)={best}"]
    train_clips, test = clips(args.wavfile)
    if args.on_validation:
        test = [f for f in train_clips if f.stem.rsplit("_", 1)[0] in VALIDATION_SONGS]
        train_clips = [f for f in train_clips if f not in test]
    if args.quick:
        test = test[::8]
    checkpoints = dict(c.split("=", 1) for c in args.checkpoints)
    runs = methods(checkpoints, train_clips, not args.no_baselines)
    singers = sorted({f.stem.split("_")[0] for f in test})
    print(f"machine: {machine()}")
    print(f"{len(train_clips)} training clips ({', '.join(TRAIN_SINGERS)}); {len(test)} test clips "
          f"of {len(singers)} singers ({', '.join(singers)})")
    totals = {k: np.zeros(4) for k in [*runs, "irm (oracle)", "mixture"]}
    seconds = dict.fromkeys(totals, 0.0)
    from unweave.methods import get_method

    irm = get_method("irm")()
    for i, f in enumerate(test):
        voice, acc = zero_db(f)
        mix = voice + acc
        n = mix.shape[-1]
        base = scores(voice, acc, mix, mix)
        estimates = {"mixture": (mix, mix)}
        for label, run in runs.items():
            start = time.perf_counter()
            estimates[label] = run(mix)
            seconds[label] += time.perf_counter() - start
        o = irm(mix, 16000, references={"vocals": voice, "accompaniment": acc})
        estimates["irm (oracle)"] = (o["vocals"], o["accompaniment"])
        for label, (v, a) in estimates.items():
            sdr, sir, sar = scores(voice, acc, v, a)
            totals[label] += n * np.array([sdr - base[0], sir, sar, 1.0])
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{len(test)} clips", flush=True)
    print("\n| method | GNSDR | GSIR | GSAR | seconds (all clips) |")
    print("|---|---|---|---|---|")
    for row, nsdr, sir, sar in PAPER:
        print(f"| {row} | {nsdr:.2f} | {sir:.2f} | {sar:.2f} | |")
    for label, t in totals.items():
        g = t[:3] / t[3]
        print(f"| {label} | {g[0]:.2f} | {g[1]:.2f} | {g[2]:.2f} | {seconds[label]:.1f} |")


if __name__ == "__main__":
    main()
