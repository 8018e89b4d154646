"""Model-based methods on real data (issue 4), scored with BSS Eval v4 through the same
function as `unweave evaluate` (per-source median over 1 s windows, then the mean over tracks).

Run: .venv/bin/python benchmarks/bench_model_methods.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from common import DATA, machine
from scipy.optimize import linear_sum_assignment

from unweave.audio import read_audio
from unweave.methods import get_method
from unweave.methods.nmf import default_stft, save_bases, train_bases
from unweave.metrics.results import evaluate_sources

INSTRUMENTS = ["violin", "clarinet", "saxphone", "bassoon"]


def sdr(refs: dict, ests: dict, rate: int) -> dict[str, float]:
    medians = evaluate_sources(refs, ests, rate, "v4").medians()
    return {k: v["SDR"] for k, v in medians.items()}


def mir1k() -> list[str]:
    folder = DATA / "mir1k_excerpts"
    clips = []
    for f in sorted(folder.glob("*_vocal.wav")):
        vocals, rate = read_audio(f)
        music, _ = read_audio(str(f).replace("_vocal", "_music"))
        clips.append((vocals, music))
    rows: dict[str, list[float]] = {}
    times: dict[str, float] = {}

    def add(label, refs, estimate_vocals, seconds):
        rows.setdefault(label, []).append(sdr({"vocals": refs}, {"vocals": estimate_vocals},
                                              16000)["vocals"])
        times[label] = times.get(label, 0.0) + seconds

    import librosa

    for i, (vocals, music) in enumerate(clips):
        mix = vocals + music
        add("mixture (lower bound)", vocals, mix, 0)
        for method in ("repet", "repet-sim"):
            t = time.perf_counter()
            est = get_method(method)()(mix, 16000)["vocals"]
            add(method, vocals, est, time.perf_counter() - t)
        t = time.perf_counter()
        add("librosa nn_filter REPET-SIM recipe (peer)", vocals, librosa_repet_sim(mix, librosa),
            time.perf_counter() - t)
        others = [v for j, (v, _) in enumerate(clips) if j != i]
        with tempfile.TemporaryDirectory() as tmp:
            path = save_bases(Path(tmp) / "v.npz", train_bases(others, 16000, 32, n_iter=100),
                              "vocals", 16000, default_stft(16000), 1.0)
            t = time.perf_counter()
            est = get_method("nmf")(bases=str(path), n_components=32)(mix, 16000)["vocals"]
            add("nmf supervised (vocal bases from the other clips)", vocals, est,
                time.perf_counter() - t)
        t = time.perf_counter()
        sep = get_method("nmf")(n_sources=2)(mix, 16000)
        best = max(sep.names, key=lambda n: sdr({"v": vocals}, {"v": sep[n]}, 16000)["v"])
        add("nmf unsupervised (best of 2 clusters)", vocals, sep[best], time.perf_counter() - t)
        oracle = get_method("irm")()(mix, 16000, references={"vocals": vocals, "music": music})
        add("irm (upper bound)", vocals, oracle["vocals"], 0)
    lines = [f"MIR-1K excerpts ({len(clips)} clips, voice and accompaniment mixed at 0 dB, "
             "16 kHz mono): vocals SDR", "",
             "| method | vocals SDR (dB, mean of clips) | seconds (all clips) |", "|---|---|---|"]
    for label, values in rows.items():
        lines.append(f"| {label} | {np.mean(values):.2f} | {times[label]:.2f} |")
    return lines


def librosa_repet_sim(mix: np.ndarray, librosa) -> np.ndarray:
    """librosa's documented vocal-separation recipe (nn_filter + soft masks), on our STFT."""
    y = mix[0]
    full, phase = librosa.magphase(librosa.stft(y, n_fft=1024, hop_length=256))
    filt = librosa.decompose.nn_filter(full, aggregate=np.median, metric="cosine",
                                       width=int(librosa.time_to_frames(2, sr=16000,
                                                                        hop_length=256)))
    filt = np.minimum(full, filt)
    mask_v = librosa.util.softmask(full - filt, 10 * filt, power=2)
    return librosa.istft(mask_v * full * phase, hop_length=256, length=len(y))[None]


def bach10() -> list[str]:
    pieces = sorted(p for p in (DATA / "bach10_subset").iterdir() if p.is_dir())
    rows: dict[str, list[float]] = {}
    times: dict[str, float] = {}
    for folder in pieces:
        name = folder.name
        refs = {i: read_audio(folder / f"{name}-{i}.flac")[0] for i in INSTRUMENTS}
        mix = sum(refs.values())
        runs = {"score, given alignment": dict(alignment=str(folder / f"{name}.txt")),
                "score, our DTW alignment": dict(alignment="dtw")}
        for label, kw in runs.items():
            t = time.perf_counter()
            sep = get_method("score")(score=str(folder / f"{name}.mid"),
                                      names=",".join(INSTRUMENTS), **kw)(mix, 44100)
            times[label] = times.get(label, 0) + time.perf_counter() - t
            rows.setdefault(label, []).append(sdr(refs, sep.sources, 44100))
        t = time.perf_counter()
        sep = get_method("nmf")(n_sources=4, n_components=40)(mix, 44100)
        times["nmf un-informed (4 clusters, best assignment)"] = time.perf_counter() - t
        table = np.array([[sdr({"r": refs[i]}, {"r": sep[n]}, 44100)["r"] for n in sep.names]
                          for i in INSTRUMENTS])
        r, c = linear_sum_assignment(-table)
        rows.setdefault("nmf un-informed (4 clusters, best assignment)", []).append(
            dict(zip(np.array(INSTRUMENTS)[r], table[r, c])))
        rows.setdefault("mixture (lower bound)", []).append(
            sdr(refs, {i: mix for i in INSTRUMENTS}, 44100))
        oracle = get_method("irm")()(mix, 44100, references=refs)
        rows.setdefault("irm (upper bound)", []).append(sdr(refs, oracle.sources, 44100))
    lines = [f"Bach10 ({len(pieces)} pieces x 4 instruments, 44.1 kHz): SDR per instrument "
             "(mean over pieces)", "",
             "| method | " + " | ".join(INSTRUMENTS) + " | mean | seconds (all pieces) |",
             "|---|" + "---|" * (len(INSTRUMENTS) + 2)]
    for label, per_piece in rows.items():
        means = [np.mean([p[i] for p in per_piece]) for i in INSTRUMENTS]
        lines.append(f"| {label} | " + " | ".join(f"{m:.2f}" for m in means) +
                     f" | {np.mean(means):.2f} | {times.get(label, 0):.1f} |")
    return lines


def supervised_bach10(held_out: str = "09-Jesus") -> list[str]:
    pieces = sorted(p for p in (DATA / "bach10_subset").iterdir() if p.is_dir())
    test = next(p for p in pieces if p.name == held_out)
    refs = {i: read_audio(test / f"{test.name}-{i}.flac")[0] for i in INSTRUMENTS}
    mix = sum(refs.values())
    lines = [f"Supervised NMF on Bach10: bases (32 per instrument) trained on the other "
             f"{len(pieces) - 1} pieces' solo tracks, tested on {held_out}; target vs rest", "",
             "| instrument | mixture | penalty 0 | penalty 0.001 | penalty 0.01 | penalty 0.1 "
             "| irm |",
             "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for inst in INSTRUMENTS:
            train = [read_audio(p / f"{p.name}-{inst}.flac")[0] for p in pieces if p != test]
            bases = train_bases(train, 44100, 32, n_iter=60)
            path = save_bases(Path(tmp) / f"{inst}.npz", bases, inst, 44100,
                              default_stft(44100), 1.0)
            row = [sdr({inst: refs[inst]}, {inst: mix}, 44100)[inst]]
            for mu in (0.0, 0.001, 0.01, 0.1):
                sep = get_method("nmf")(bases=str(path), n_components=32,
                                        sharing_penalty=mu)(mix, 44100)
                row.append(sdr({inst: refs[inst]}, {inst: sep[inst]}, 44100)[inst])
            rest = mix - refs[inst]
            oracle = get_method("irm")()(mix, 44100, references={inst: refs[inst], "r": rest})
            row.append(sdr({inst: refs[inst]}, {inst: oracle[inst]}, 44100)[inst])
            lines.append(f"| {inst} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    return lines


def stereo_vocals() -> list[str]:
    tracks = {"SiSEC 2011 Ultimate NZ Tour (18 s)": DATA / "sisec2011_music_dev" /
              "Ultimate_NZ_Tour" / "Tracks", "MUSDB18 80s Rock (7 s)":
              DATA / "musdb18_7s_80s_rock_museval" / "decoded"}
    lines = ["Stereo singing voice: vocals SDR", "",
             "| track | mixture | center | gmm | irm |", "|---|---|---|---|---|"]
    for label, folder in tracks.items():
        stems = {f.stem.split("__")[-1]: read_audio(f)[0] for f in sorted(folder.glob("*.flac"))
                 if f.stem != "mixture"}
        mix = sum(stems.values())
        vocals = stems["vocals"]
        row = [sdr({"v": vocals}, {"v": mix}, 44100)["v"],
               sdr({"v": vocals}, {"v": get_method("center")()(mix, 44100)["center"]}, 44100)["v"],
               sdr({"v": vocals}, {"v": get_method("gmm")()(mix, 44100)["vocals"]}, 44100)["v"]]
        oracle = get_method("irm")()(mix, 44100, references={"v": vocals, "r": mix - vocals})
        row.append(sdr({"v": vocals}, {"v": oracle["v"]}, 44100)["v"])
        lines.append(f"| {label} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    return lines


def main() -> list[str]:
    out = [f"Machine: {machine()}", ""]
    for part in (mir1k, bach10, supervised_bach10, stereo_vocals):
        out += part() + [""]
    return out


if __name__ == "__main__":
    print("\n".join(main()))
