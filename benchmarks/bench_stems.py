"""Four stems on the MUSDB18 7-s test set (issue 13): every estimate through `unweave separate`
and scored by `unweave evaluate` (BSS Eval v4 image SDR, median over 1 s windows per track, then
mean and median over the 50 tracks); then speed and memory of the command on long songs.

Run: .venv/bin/python benchmarks/bench_stems.py ~/corpora/musdb18-7s [MODEL] [--model-only]
[--vocals-margin]
(MODEL: a stems checkpoint; default the bundled one). About 10 minutes on 2 cores. The test
set is only evaluated here: nothing was trained, selected or tuned on it.
``--model-only`` scores the model's default (two helper networks, one Wiener pass), two
passes, the thirteenth session's default, the ``unet`` helper alone, none, the masks alone and
the second helper's vocals alone, and times the default (and, for comparison, the same with
glibc's allocator as it comes, without :mod:`unweave.memory`): the baselines' and oracles'
rows are deterministic and do not change with the model. The full run ends its quality table
with the issue's vocals target to three decimals (the default's vocals and the bundled
``unet``'s, their means over the tracks and the margin between them); ``--vocals-margin``
(1 minute) gives that line alone.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import machine

STEMS = ("vocals", "drums", "bass", "other")
UNWEAVE = [sys.executable, "-m", "unweave"]


def _run(*args: str) -> str:
    return subprocess.run([*UNWEAVE, *map(str, args)], check=True, capture_output=True,
                          text=True).stdout


def _model_flags(model: str | None) -> list[str]:
    """`unweave separate` flags for a stems checkpoint (none: the bundled one)."""
    return ["--model", model] if model else []


def _write_estimates(test: Path, out: Path, estimate) -> None:
    """``estimate(mixture, references, rate)`` (a dict of stems) for every test track, written
    as the command would."""
    from unweave.audio import read_stems, write_audio

    for song in sorted(test.glob("*.stem.mp4")):
        streams, rate = read_stems(song)
        mixture = streams.pop("mixture")
        folder = out / song.name[: -len(".stem.mp4")]
        folder.mkdir(parents=True)
        for name, audio in estimate(mixture, {n: streams[n] for n in STEMS}, rate).items():
            write_audio(folder / f"{name}.wav", audio, rate)


def _oracle(method: str, test: Path, out: Path) -> None:
    """Estimates of an oracle for every test track."""
    from unweave.methods import get_method

    oracle = get_method(method)()

    def estimate(mixture, refs, rate):
        result = oracle(mixture, rate, references=refs)
        return {n: result[n] for n in STEMS}

    _write_estimates(test, out, estimate)


def _network_vocals(name: str, test: Path, out: Path) -> None:
    """The vocals of a bundled vocals network (``stems_vocals``, 44.1 kHz as MUSDB) for every
    test track."""
    from unweave.methods.neural import bundled_path
    from unweave.nn.apply import apply_model
    from unweave.nn.checkpoint import load_model

    model = load_model(bundled_path(name))[0].eval()
    _write_estimates(test, out, lambda mixture, refs, rate: {
        "vocals": apply_model(model, mixture.astype(np.float32))[0]})


def _scores(test: Path, estimates: Path, tmp: Path) -> dict[str, list[float]]:
    """Per stem, each track's median over windows, from `unweave evaluate --csv`."""
    table = tmp / f"{estimates.name}.csv"
    _run("evaluate", "--reference", test, "--estimate", estimates, "--csv", table, "-q",
         "--force")
    per: dict[tuple[str, str], list[float]] = {}
    with open(table) as f:
        for row in csv.DictReader(f):
            if row["metric"] == "SDR":
                per.setdefault((row["track"], row["target"]), []).append(float(row["score"]))
    out: dict[str, list[float]] = {s: [] for s in STEMS}
    for (_, target), values in sorted(per.items()):
        if target in out:
            finite = [v for v in values if np.isfinite(v)]
            if finite:
                out[target].append(float(np.median(finite)))
    return out


#: The row of the bundled ``unet``'s vocals, the peer of the issue's vocals target.
UNET_ROW = "unet (bundled; vocals)"


def quality_table(test: Path, model: str | None, tmp: Path, baselines: bool = True
                  ) -> list[str]:
    runs: dict[str, dict[str, list[float]]] = {}
    seconds = {}
    variants = (("stems, unet + stems_vocals helpers, Wiener 1 pass (the default)", []),
                ("stems, the same, Wiener 2 passes", ["--wiener-iterations", "2"]),
                ("stems, helpers at 0.6 and 0.3 (the thirteenth session's default)",
                 ["--helper-weight", "0.6,0.3"]),
                ("stems, unet helper alone at 0.6", ["--helper", "unet", "--helper-weight",
                                                     "0.6"]),
                ("stems, no helper", ["--helper", ""]),
                ("stems, both helpers, masks only", ["--wiener-iterations", "0"]))
    for label, flags in variants:
        out = tmp / label.replace(" ", "_").replace(",", "").replace("+", "and")
        start = time.perf_counter()
        _run("separate", test, "-m", "stems", *_model_flags(model), *flags, "-o", out, "-q")
        seconds[label] = time.perf_counter() - start
        runs[label] = _scores(test, out, tmp)
    out = tmp / "stems_vocals"
    _network_vocals("stems_vocals", test, out)
    runs["stems_vocals alone (the second helper; vocals)"] = _scores(test, out, tmp)
    if baselines:
        runs |= _baselines(test, tmp)
    lines = _table(runs, seconds, len(list(test.glob("*.stem.mp4"))))
    if UNET_ROW in runs:  # the vocals target, from the separations just scored
        lines += ["", _margin_line(runs[variants[0][0]]["vocals"], runs[UNET_ROW]["vocals"])]
    return lines


def _baselines(test: Path, tmp: Path) -> dict[str, dict[str, list[float]]]:
    """Scores of hpss (drums), the bundled unet (vocals) and the oracles."""
    runs: dict[str, dict[str, list[float]]] = {}
    hpss, unet = tmp / "hpss", tmp / "unet"
    _run("separate", test, "-m", "hpss", "-o", hpss, "-q")
    for track in hpss.iterdir():
        if track.is_dir() and not track.name.startswith("."):
            (track / "percussive.wav").rename(track / "drums.wav")
            (track / "harmonic.wav").unlink()
    runs["hpss (percussive as drums)"] = _scores(test, hpss, tmp)
    _run("separate", test, "-m", "unet", "-o", unet, "-q")
    for track in unet.iterdir():
        if track.is_dir() and not track.name.startswith("."):
            (track / "accompaniment.wav").unlink()
    runs[UNET_ROW] = _scores(test, unet, tmp)
    for method, label in (("mixture", "mixture (lower bound)"),
                          ("mixture-gain", "mixture x least-squares gain (oracle)"),
                          ("irm", "ideal ratio mask (oracle)")):
        out = tmp / method
        _oracle(method, test, out)
        runs[label] = _scores(test, out, tmp)
    return runs


def _table(runs: dict[str, dict[str, list[float]]], seconds: dict[str, float], n: int
           ) -> list[str]:
    lines = [f"MUSDB18 7-s test set, {n} tracks; SDR (dB): BSS Eval v4, median over 1 s windows "
             "per track; mean over tracks (median in brackets)", "",
             "| method | vocals | drums | bass | other | mean of stems |",
             "|---|---|---|---|---|---|"]
    for label, per in runs.items():
        cells, means = [], []
        for s in STEMS:
            if per[s]:
                cells.append(f"{np.mean(per[s]):.2f} ({np.median(per[s]):.2f})")
                means.append(np.mean(per[s]))
            else:
                cells.append("-")
        avg = f"{np.mean(means):.2f}" if len(means) == 4 else "-"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {avg} |")
    lines += ["", f"Seconds for the whole test set through `unweave separate` ({n} x 7 s = "
              f"{n * 7 / 60:.1f} min of audio, one process): " +
              ", ".join(f"{k}: {v:.0f} s" for k, v in seconds.items())]
    return lines


SPEED = """
import sys, time
import unweave.cli
if sys.argv[3] == "plain":  # glibc's allocator as it comes (no unweave.memory)
    unweave.cli.reuse_freed_memory = lambda: False
start = time.perf_counter()
code = unweave.cli.main(["separate", sys.argv[1], "-m", "stems", *sys.argv[4:], "-o",
                         sys.argv[2], "-q"])
print(code, time.perf_counter() - start)
"""


def speed_table(model: str | None, tmp: Path) -> list[str]:
    import soundfile as sf

    lines = ["`unweave separate song.wav -m stems` on 2 CPU cores: stereo 44.1 kHz float WAV "
             "(a real song looped: MUSDB 80s Rock when present, else noise), the defaults "
             "(one Wiener pass); peak memory from `/usr/bin/time -f %M`; the second pair of "
             "rows without `unweave.memory` (glibc's allocator as it comes)", "",
             "| song length | seconds | real-time factor | peak memory (MiB) |",
             "|---|---|---|---|"]
    from common import DATA

    rock = DATA / "musdb18_7s_80s_rock_museval" / "decoded" / "mixture.flac"
    base = sf.read(rock, dtype="float32")[0] if rock.exists() else \
        (0.1 * np.random.default_rng(0).standard_normal((44100 * 7, 2))).astype(np.float32)
    songs = {minutes: tmp / f"song{minutes}.wav" for minutes in (3, 10)}
    for minutes, song in songs.items():
        n = minutes * 60 * 44100
        with sf.SoundFile(str(song), "w", 44100, 2, "FLOAT") as f:
            written = 0
            while written < n:
                block = base[: n - written]
                f.write(block)
                written += len(block)
    for allocator, note in (("kept", ""), ("plain", ", glibc's allocator as it comes")):
        for minutes, song in songs.items():
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", SPEED,
                                   str(song), str(tmp / f"speed{minutes}{allocator}"),
                                   allocator, *_model_flags(model)],
                                  capture_output=True, text=True, check=True)
            code, seconds = proc.stdout.split()
            if code != "0":  # a failed separation's time is no speed figure
                raise RuntimeError(f"unweave separate exited {code}: {proc.stderr.strip()}")
            peak = int(proc.stderr.strip().splitlines()[-1]) / 1024
            lines.append(f"| {minutes} min{note} | {float(seconds):.1f} | "
                         f"{float(seconds) / (minutes * 60):.3f} | {peak:.0f} |")
    return lines


def _margin_line(default: list[float], unet: list[float]) -> str:
    """The issue's vocals target to three decimals, from each track's vocals SDR by the
    default and by the bundled ``unet`` (the same tracks, in the same order)."""
    if len(default) != len(unet):
        raise RuntimeError("the two methods were scored on different tracks")
    gain = np.array(default) - np.array(unet)
    return (f"vocals over {len(gain)} tracks, mean of per-track medians (dB): the default "
            f"{np.mean(default):.3f}, unet {np.mean(unet):.3f}; margin {gain.mean():.3f} "
            f"(target 1; standard error over tracks {gain.std(ddof=1) / np.sqrt(len(gain)):.3f});"
            f" the default above unet on {(gain > 0).sum()} tracks")


def vocals_margin(corpus: str, model: str | None = None) -> list[str]:
    """The default's vocals against the bundled ``unet``'s alone (the full run prints the same
    line from its own separations)."""
    test = Path(corpus).expanduser() / "test"
    vocals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in (("stems", _model_flags(model)), ("unet", [])):
            out = Path(tmp) / name
            _run("separate", test, "-m", name, *flags, "-o", out, "-q")
            vocals[name] = _scores(test, out, Path(tmp))["vocals"]
    return [_margin_line(vocals["stems"], vocals["unet"])]


def main(corpus: str, model: str | None = None, baselines: bool = True) -> list[str]:
    test = Path(corpus).expanduser() / "test"
    with tempfile.TemporaryDirectory() as tmp:
        lines = [f"Machine: {machine()}", ""] + quality_table(test, model, Path(tmp), baselines)
        shutil.rmtree(Path(tmp), ignore_errors=True)
        Path(tmp).mkdir(exist_ok=True)
        lines += [""] + speed_table(model, Path(tmp))
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", help="MUSDB18 7-s folder (its test/ is scored)")
    parser.add_argument("model", nargs="?", help="stems checkpoint (default: the bundled one)")
    parser.add_argument("--model-only", action="store_true")
    parser.add_argument("--vocals-margin", action="store_true")
    args = parser.parse_args()
    print("\n".join(vocals_margin(args.corpus, args.model) if args.vocals_margin else
                    main(args.corpus, args.model, not args.model_only)))
