"""BSS Eval: unweave against museval (v4) and mir_eval / fast_bss_eval (v3 sources), same inputs.

4 stereo sources x 30 s at 44.1 kHz (the SiSEC NZ Tour tracks, looped; estimates leak 30% of
the other sources plus noise). Run: .venv/bin/python benchmarks/bench_metrics.py
"""

from __future__ import annotations

import warnings

import numpy as np
from common import DATA, machine, timeit

from unweave.audio import read_audio
from unweave.metrics import bss_eval_sources, bss_eval_v4


def sources_30s() -> tuple[np.ndarray, np.ndarray, str]:
    n = 30 * 44100
    folder = DATA / "sisec2011_music_dev/Ultimate_NZ_Tour/Tracks"
    names = ["bass", "drums", "guitar", "vocals"]
    files = [next(folder.glob(f"*__{name}.flac"), None) for name in names] if folder.exists() \
        else [None]
    if all(files):
        refs = []
        for f in files:
            audio, _ = read_audio(f)
            refs.append(np.tile(audio, (1, -(-n // audio.shape[-1])))[:, :n])
        what = "SiSEC 2011 NZ Tour bass/drums/guitar/vocals, looped to 30 s"
    else:
        refs = list(0.1 * np.random.default_rng(0).standard_normal((4, 2, n)))
        what = "white noise"
    ref = np.stack(refs).astype(np.float64)
    rng = np.random.default_rng(1)
    mix = ref.sum(axis=0)
    est = ref + 0.3 * (mix - ref) + 0.01 * rng.standard_normal(ref.shape)
    return ref, est, what


def _maxdiff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = np.isfinite(a) & np.isfinite(b)
    assert np.array_equal(np.isfinite(a), np.isfinite(b)), "NaN/inf patterns differ"
    return float(np.abs(a[both] - b[both]).max())


def main() -> list[str]:
    ref, est, what = sources_30s()
    lines = [f"BSS Eval, {what}: 4 sources x 2 channels x 30 s @ 44.1 kHz; {machine()}", "",
             "| task | unweave (s) | peer | peer (s) | speed-up | largest difference (dB) |",
             "|---|---|---|---|---|---|"]
    warnings.simplefilter("ignore")

    t_ours, ours = timeit(lambda: bss_eval_v4(ref, est, 44100, 44100), repeat=3)
    try:
        import museval.metrics

        t_peer, peer = timeit(lambda: museval.metrics.bss_eval(
            ref.transpose(0, 2, 1), est.transpose(0, 2, 1), window=44100, hop=44100,
            framewise_filters=False, bsseval_sources_version=False), repeat=1)
        diff = max(_maxdiff(getattr(ours, m), p) for m, p in zip(("sdr", "isr", "sir", "sar"),
                                                                  peer[:4]))
        lines.append(f"| v4 (1 s windows), all 4 metrics | {t_ours:.2f} | museval 0.4 | "
                     f"{t_peer:.2f} | {t_peer / t_ours:.1f}x | {diff:.1e} |")
    except ImportError as exc:
        lines.append(f"| v4 | {t_ours:.2f} | museval not installed ({exc}) | | | |")

    # v3 bss_eval_sources, each channel as a set of single-channel sources (as peers take it).
    def ours_v3():
        return [bss_eval_sources(ref[:, c], est[:, c]) for c in range(ref.shape[1])]

    t_ours, ours = timeit(ours_v3, repeat=1)
    ours_sdr = np.stack([r.sdr[:, 0] for r in ours])
    ours_sir = np.stack([r.sir[:, 0] for r in ours])
    ours_sar = np.stack([r.sar[:, 0] for r in ours])
    try:
        import mir_eval.separation

        t_peer, peer = timeit(lambda: [mir_eval.separation.bss_eval_sources(ref[:, c], est[:, c])
                                       for c in range(ref.shape[1])], repeat=1)
        diff = max(_maxdiff(ours_sdr, [p[0] for p in peer]),
                   _maxdiff(ours_sir, [p[1] for p in peer]),
                   _maxdiff(ours_sar, [p[2] for p in peer]))
        lines.append(f"| v3 bss_eval_sources per channel (with permutation) | {t_ours:.2f} | "
                     f"mir_eval 0.8 | {t_peer:.2f} | {t_peer / t_ours:.1f}x | {diff:.1e} |")
    except ImportError as exc:
        lines.append(f"| v3 sources | {t_ours:.2f} | mir_eval not installed ({exc}) | | | |")
    try:
        import fast_bss_eval
        import torch

        def fbe():
            out = []
            for c in range(ref.shape[1]):
                r = fast_bss_eval.bss_eval_sources(torch.from_numpy(ref[:, c]),
                                                   torch.from_numpy(est[:, c]), use_cg_iter=None)
                out.append([x.numpy() for x in r])
            return out

        t_peer, peer = timeit(fbe, repeat=1)
        # fast_bss_eval returns (sdr, sir, sar, perm) in the estimates' matched order.
        diff = max(_maxdiff(ours_sdr, [p[0] for p in peer]),
                   _maxdiff(ours_sir, [p[1] for p in peer]),
                   _maxdiff(ours_sar, [p[2] for p in peer]))
        lines.append(f"| v3 bss_eval_sources per channel (with permutation) | {t_ours:.2f} | "
                     f"fast_bss_eval 0.1.4 (torch, exact solve) | {t_peer:.2f} | "
                     f"{t_peer / t_ours:.1f}x | {diff:.1e} |")
    except ImportError as exc:
        lines.append(f"| v3 sources | {t_ours:.2f} | fast_bss_eval not usable ({exc}) | | | |")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
