"""REPET-SIM against nussl's RepetSim on 24 singing-voice songs (issue 16), side by side in one
run: vocals SDR improvement over the mixture (BSS Eval v4: median over 1 s windows, then the
mean over songs), and seconds.

The songs (``../shared/data``, none used to build unweave): 17 MIR-1K clips (every 5th, mono
16 kHz), the 3 MUSDB excerpts of ``musdb18_7s_songs``, ``musdb18_7s_mu_too_bright`` and the
80s-rock excerpt (stereo 44.1 kHz), the Zeno excerpt (mono 22.05 kHz, stems rescaled with the
gains of its SOURCE.md) and the SiSEC 2011 NZ Tour song (stereo 44.1 kHz). Mixture = vocals +
the rest.

nussl does not install beside unweave's numpy/scipy, so it runs in its own environment
(``--peer-python``, see ../shared/PEERS.md: ``apt-get install libsox-dev``, ``pip install
nussl==1.1.9 museval``), with three shims for removed scipy/numpy names. That process also
scores both methods' estimates with ``museval.evaluate`` so the two metric implementations are
compared on the same arrays.

Run:
  .venv/bin/python benchmarks/bench_repet_sim.py --peer-python /root/peers/bin/python
  .venv/bin/python benchmarks/bench_repet_sim.py --grid      # the defaults' search (ours only)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _read(path: Path) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.T, rate


def songs(data: Path = DATA) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """``(name, vocals, accompaniment, rate)``, each ``(channels, samples)``."""
    out = []
    for f in sorted((data / "mir1k_songs/audio").glob("*.flac"))[::5][:17]:
        audio, rate = _read(f)
        out.append((f.stem, audio[1:2], audio[0:1], rate))
    folders = sorted(p for p in (data / "musdb18_7s_songs").iterdir() if p.is_dir())
    folders += [data / "musdb18_7s_mu_too_bright", data / "musdb18_7s_80s_rock_museval/decoded"]
    for d in folders:
        stems = {n: _read(d / f"{n}.flac") for n in ("vocals", "drums", "bass", "other")}
        rate = stems["vocals"][1]
        rest = stems["drums"][0] + stems["bass"][0] + stems["other"][0]
        out.append((d.name if d.name != "decoded" else d.parent.name, stems["vocals"][0], rest,
                    rate))
    zeno = data / "musdb18_zeno_signs_10s_22k_gss"
    gains = {"vocals": 0.533, "bass": 0.178, "drums": 0.488, "other": 0.341}
    stems = {n: _read(zeno / f"{n}.flac") for n in gains}
    n = min(s[0].shape[-1] for s in stems.values())
    scaled = {k: g * stems[k][0][:, :n] for k, g in gains.items()}
    out.append((zeno.name, scaled["vocals"], scaled["bass"] + scaled["drums"] + scaled["other"],
                stems["vocals"][1]))
    tracks = data / "sisec2011_music_dev/Ultimate_NZ_Tour/Tracks"
    parts = {f.stem.rsplit("__", 1)[-1]: _read(f) for f in sorted(tracks.glob("*.flac"))}
    rest = sum(a for k, (a, _) in parts.items() if k != "vocals")
    out.append(("sisec_nz_tour", parts["vocals"][0], rest, parts["vocals"][1]))
    return out


def v4_sdr(reference: np.ndarray, estimate: np.ndarray, rate: int) -> float:
    """BSS Eval v4 image SDR, median over 1 s windows (equal to museval's SDR)."""
    from unweave.metrics import framewise_sdr

    return float(np.nanmedian(framewise_sdr(reference, estimate, rate)))


def ours(options: dict, data) -> tuple[list[np.ndarray], float]:
    from unweave.methods import get_method

    method = get_method("repet-sim")(**options)
    estimates, start = [], time.perf_counter()
    for _, vocals, rest, rate in data:
        estimates.append(method(vocals + rest, rate)["vocals"])
    return estimates, time.perf_counter() - start


def improvement(data, estimates) -> list[float]:
    return [v4_sdr(v, e, r) - v4_sdr(v, v + a, r) for (_, v, a, r), e in
            zip(data, estimates, strict=True)]


# ---------------------------------------------------------------- the peer's side (own venv)

def _shims() -> None:
    import scipy.signal
    import scipy.signal.windows

    for name in ("hamming", "hann", "blackman", "triang", "boxcar", "hanning"):
        if not hasattr(scipy.signal, name) and hasattr(scipy.signal.windows, name):
            setattr(scipy.signal, name, getattr(scipy.signal.windows, name))
    if not hasattr(np, "mat"):
        np.mat = np.asmatrix
    for name, value in (("bool", bool), ("float", float), ("int", int), ("complex", complex)):
        if name not in np.__dict__:
            setattr(np, name, value)


def peer_main(estimates_path: str, out_path: str) -> None:
    """In nussl's environment: nussl RepetSim with its defaults on every song, timed, then
    museval v4 SDR of nussl's and unweave's vocals."""
    _shims()
    import museval
    import nussl

    data = songs()
    ours_est = np.load(estimates_path, allow_pickle=False)
    nussl_est, start = [], time.perf_counter()
    for _, vocals, rest, rate in data:
        signal = nussl.AudioSignal(audio_data_array=vocals + rest, sample_rate=rate)
        _, foreground = _nussl_run(nussl, signal)
        nussl_est.append(foreground.audio_data[:, :vocals.shape[-1]])
    seconds = time.perf_counter() - start

    def museval_sdr(ref, est, rate):
        sdr, *_ = museval.evaluate(ref.T[None], est.T[None], win=rate, hop=rate)
        return float(np.nanmedian(sdr[0]))

    rows = []
    for i, (name, vocals, rest, rate) in enumerate(data):
        mix = museval_sdr(vocals, vocals + rest, rate)
        rows.append({"song": name, "mixture": mix,
                     "nussl": museval_sdr(vocals, nussl_est[i], rate) - mix,
                     "unweave": museval_sdr(vocals, ours_est[f"e{i}"], rate) - mix})
    np.savez(out_path + ".npz", **{f"e{i}": e for i, e in enumerate(nussl_est)})
    Path(out_path).write_text(json.dumps({"seconds": seconds, "rows": rows}))


def _nussl_run(nussl, signal):
    separator = nussl.separation.primitive.RepetSim(signal)  # nussl's defaults
    separator.run()
    background, foreground = separator.make_audio_signals()
    return background, foreground


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer-python", help="python of an environment with nussl + museval")
    parser.add_argument("--grid", action="store_true", help="search our defaults (no peer)")
    parser.add_argument("--peer-side", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer_side:
        return peer_main(*args.peer_side)
    data = songs()
    print(f"{len(data)} songs")
    if args.grid:
        for window in (0.04, 0.064, 0.128):
            for distance in (0.5, 1.0):
                for frames in (20, 50, 100):
                    opts = {"window_seconds": window, "min_distance": distance,
                            "max_frames": frames}
                    est, sec = ours(opts, data)
                    print(json.dumps(opts), f"{np.mean(improvement(data, est)):+.2f} dB",
                          f"{sec:.1f} s", flush=True)
        return None
    estimates, seconds = ours({}, data)
    ours_impr = improvement(data, estimates)
    print(f"unweave repet-sim (defaults): {np.mean(ours_impr):+.2f} dB, {seconds:.1f} s")
    if not args.peer_python:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        est_path, out_path = f"{tmp}/ours.npz", f"{tmp}/peer.json"
        np.savez(est_path, **{f"e{i}": e for i, e in enumerate(estimates)})
        subprocess.run([args.peer_python, __file__, "--peer-side", est_path, out_path],
                       check=True)
        peer = json.loads(Path(out_path).read_text())
        nussl_est = np.load(out_path + ".npz")
        nussl_impr = improvement(data, [nussl_est[f"e{i}"] for i in range(len(data))])
    print("| song | mixture SDR | nussl RepetSim | unweave repet-sim |")
    print("|---|---|---|---|")
    for row in peer["rows"]:
        print(f"| {row['song']} | {row['mixture']:.2f} | {row['nussl']:+.2f} | "
              f"{row['unweave']:+.2f} |")
    mean = {k: np.mean([r[k] for r in peer["rows"]]) for k in ("nussl", "unweave")}
    print(f"| **mean improvement (museval)** | | **{mean['nussl']:+.2f}** | "
          f"**{mean['unweave']:+.2f}** |")
    print(f"| mean improvement (unweave's v4 metric) | | {np.mean(nussl_impr):+.2f} | "
          f"{np.mean(ours_impr):+.2f} |")
    print(f"| seconds, all songs | | {peer['seconds']:.1f} | {seconds:.1f} |")
    diff = max(abs(a - r["unweave"]) for a, r in zip(ours_impr, peer["rows"], strict=True))
    print(f"largest difference museval vs unweave metric: {diff:.2e} dB")
    return None


if __name__ == "__main__":
    sys.exit(main())
