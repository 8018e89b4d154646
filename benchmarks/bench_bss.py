"""Multichannel blind separation (issue 5): unweave against scikit-learn (FastICA) and
pyroomacoustics (AuxIVA, ILRMA) on the same mixtures of real speech, one run per table.

Sources: SiSEC 2011 dev1 speech (2 female, 2 male, 10 s, 16 kHz). Convolutive mixtures use the
measured office RIRs of rsmnmf_office_rirs_32ch (resampled to 16 kHz). Scores: BSS Eval images
(v3, best permutation) against each source's image at the reference microphone (mic 0).
Run: .venv/bin/python benchmarks/bench_bss.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from common import DATA, machine

from unweave.audio import read_audio
from unweave.data.mixing import anechoic, convolutive, instantaneous, load_rirs
from unweave.methods import get_method
from unweave.methods.iva import auxiva, ilrma, project_back
from unweave.metrics import bss_eval_images
from unweave.spectral import STFTConfig, istft, stft

RATE = 16000


def speech() -> np.ndarray:
    files = sorted((DATA / "sisec2011_speech_sources").glob("*.wav"))
    signals = [read_audio(f)[0][0] for f in files]
    n = min(len(s) for s in signals)
    return np.stack([s[:n] for s in signals]).astype(np.float64)


def scores(images: np.ndarray, estimates: np.ndarray, mic: int = 0) -> tuple[float, float, float]:
    """Mean SDR, SIR and SDR improvement over the mixture at ``mic``."""
    ref = images[:, [mic]]
    est = estimates[:, [mic]]
    res = bss_eval_images(ref, est, compute_permutation=True)
    mix = bss_eval_images(ref, np.repeat(images.sum(0)[None, [mic]], len(ref), 0), False)
    return res.sdr.mean(), res.sir.mean(), (res.sdr[:, 0] - mix.sdr[:, 0]).mean()


def timed(fn, repeat: int = 3):
    """Result and median wall time over ``repeat`` runs (the first run warms caches)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, float(np.median(times))


def ica_table(s: np.ndarray) -> list[str]:
    from sklearn.decomposition import FastICA

    lines = ["| sources | unweave SIR | sklearn SIR | unweave (s) | sklearn (s) | speed-up |",
             "|---|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for n in (2, 3, 4):
        mix, images = instantaneous(s[:n], rng.uniform(0.2, 1.0, (n, n)))
        sep, t_ours = timed(lambda: get_method("ica")(seed=0)(mix, RATE))
        ours = np.stack([sep[k] for k in sep.names])

        def peer():
            model = FastICA(n_components=n, random_state=0, whiten="unit-variance")
            src = model.fit_transform(mix.T).T
            return model.mixing_.T[:, :, None] * src[:, None, :]

        theirs, t_peer = timed(peer)
        lines.append(f"| {n} | {scores(images, ours)[1]:.1f} | {scores(images, theirs)[1]:.1f} | "
                     f"{t_ours:.3f} | {t_peer:.3f} | {t_peer / t_ours:.1f}x |")
    return lines


def iva_table(s: np.ndarray) -> list[str]:
    import pyroomacoustics as pra

    rir_files = [DATA / "rsmnmf_office_rirs_32ch" / f"rir_source_{i}.wav" for i in (1, 3, 5)]
    config = STFTConfig(2048, 512)
    lines = ["| mixture | method | unweave SDRi (dB) | pra SDRi (dB) | unweave (s) | pra (s) | "
             "speed-up |", "|---|---|---|---|---|---|---|"]
    for n, mics in ((2, [0, 16]), (3, [0, 12, 24])):
        mix, images = convolutive(s[:n], load_rirs(rir_files[:n], mics, RATE))
        x = stft(mix, config).transpose(1, 0, 2)  # (F, M, T), shared by both libraries
        length = mix.shape[-1]
        for name in ("auxiva", "ilrma"):
            def ours():
                w, _ = (auxiva(x, 50) if name == "auxiva" else ilrma(x, 2, 50, seed=0))
                return project_back(w @ x, x)

            def peer():
                fn = pra.bss.auxiva if name == "auxiva" else pra.bss.ilrma
                kw = {} if name == "auxiva" else {"n_components": 2}
                y = fn(x.transpose(2, 0, 1), n_iter=50, proj_back=True, **kw)  # (T, F, N)
                return y.transpose(2, 1, 0)[:, None]  # (N, 1, F, T) at mic 0

            img_ours, t_ours = timed(ours)
            img_peer, t_peer = timed(peer)
            est_ours = istft(img_ours, config, length)
            est_peer = istft(img_peer, config, length)
            lines.append(f"| {n}x{n}, mics {mics} | {name} | {scores(images, est_ours)[2]:.2f} | "
                         f"{scores(images, est_peer)[2]:.2f} | {t_ours:.2f} | {t_peer:.2f} | "
                         f"{t_peer / t_ours:.1f}x |")
    return lines


def duet_table(s: np.ndarray) -> list[str]:
    lines = ["| sources | per-source SDR (dB) | mixture SDR (dB) | seconds |", "|---|---|---|---|"]
    for n in (3, 4):
        gains = np.ones((2, n))
        gains[1] = [0.7, 0.9, 1.1, 1.3][:n]
        delays = np.zeros((2, n))
        delays[1] = [-1.5, -0.5, 0.5, 1.5][:n]
        mix, images = anechoic(s[:n], gains, delays)
        sep, t = timed(lambda n=n: get_method("duet")(n_sources=n)(mix, RATE))
        res = bss_eval_images(images, np.stack([sep[k] for k in sep.names]), True)
        base = bss_eval_images(images, np.repeat(mix[None], n, 0), False)
        lines.append(f"| {n} | {', '.join(f'{v:.1f}' for v in res.sdr[:, 0])} | "
                     f"{', '.join(f'{v:.1f}' for v in base.sdr[:, 0])} | {t:.2f} |")
    return lines


def main() -> list[str]:
    warnings.simplefilter("ignore")
    s = speech()
    out = [f"{machine()}; sources: SiSEC 2011 dev1 speech, {s.shape[1] / RATE:.0f} s @ 16 kHz", ""]
    out += ["ICA, instantaneous mixtures (random gains 0.2-1), SIR at mic 0, times median of 3:",
            ""] + ica_table(s)
    out += ["", "AuxIVA / ILRMA, 50 iterations, STFT 2048/512, measured office RIRs (T60 ~40 ms);"
            " SDR improvement over the mixture at mic 0; times (median of 3) exclude the shared"
            " STFT:", ""]
    out += iva_table(s)
    out += ["", "DUET, 2-mic anechoic mixtures (gains 0.7-1.3, delays -1.5..1.5 samples):", ""]
    return out + duet_table(s)


if __name__ == "__main__":
    print("\n".join(main()))
