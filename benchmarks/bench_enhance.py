"""Speech out of noise on speakers and noises never trained on (issue 14): `enhance` against
RNNoise (the `pyrnnoise` package) and noisereduce, with the noisy input and the ideal ratio
mask as bounds; then `unweave stream`'s speed on one thread and its equality with `separate`.

The test set: one utterance of each of the first 100 speechocean762 *test* speakers (never
trained on), each mixed with a noise type kept out of training (nonspeech-noise n81-n100 and
speech_commands_noise's exercise bike, `bench_enhance_arch.TEST_NOISES`) at SNR -5, 0, 5 and
10 dB: 400 mixtures at 16 kHz, drawn with a fixed seed.

Run: .venv/bin/python benchmarks/bench_enhance.py CORPORA [MODEL]   (about 20 minutes)
Where the model loses (speakers or noise types): `noise_gap_table(Path(CORPORA), MODEL)`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_enhance_arch import TEST_NOISES
from common import DATA, machine

from unweave.audio import resample
from unweave.data import augment
from unweave.data.index import index_recordings, name_matches
from unweave.methods import get_method
from unweave.metrics.si_sdr import si_sdr
from unweave.metrics.speech import pesq_scores, stoi_score

RATE = 16000
SNRS = (-5, 0, 5, 10)


def _noises(corpora: Path, held_out: bool = True) -> list:
    """The noise types kept out of training (or, ``held_out=False``, those trained on)."""
    return [r for r in index_recordings([corpora / "nonspeech-noise" / "Nonspeech",
                                         DATA / "speech_commands_noise"])
            if name_matches(r.path, TEST_NOISES) == held_out]


def test_set(corpora: Path, speakers: int = 100, seed: int = 0, split: str = "test",
             held_out: bool = True):
    """``[(snr, speech (1, n), noise (1, n))]``: one utterance per speaker of ``split`` per
    SNR, in the held-out noise types (or the training ones)."""
    speech = index_recordings([corpora / "speechocean762" / split])
    by_speaker: dict[str, list] = {}
    for r in speech:
        by_speaker.setdefault(r.group, []).append(r)
    noises = _noises(corpora, held_out)
    rng = np.random.default_rng(seed)
    cases = []
    for spk in sorted(by_speaker)[:speakers]:
        utt = by_speaker[spk][int(rng.integers(len(by_speaker[spk])))]
        clean = resample(utt.read(0, utt.frames).mean(0, keepdims=True), utt.sample_rate,
                         RATE)
        for snr in SNRS:
            rec = noises[int(rng.integers(len(noises)))]
            noise = resample(rec.read(0, rec.frames).mean(0, keepdims=True), rec.sample_rate,
                             RATE)
            n = clean.shape[1]
            while noise.shape[1] < n:  # a short noise: another stretch of it after it
                noise = np.concatenate([noise, noise[:, ::-1]], axis=1)
            start = int(rng.integers(0, noise.shape[1] - n + 1))
            noise = augment.noise_for_snr(clean, noise[:, start : start + n], snr)
            cases.append((snr, clean.astype(np.float32), noise.astype(np.float32)))
    return cases, len(noises)


def rnnoise(noisy: np.ndarray) -> np.ndarray:
    """RNNoise at its 48 kHz on int16 frames; its output delay removed by cross-correlation."""
    from pyrnnoise import RNNoise

    up = resample(noisy.astype(np.float64), RATE, 48000)
    pcm = (np.clip(up, -1, 1) * 32767).astype(np.int16)
    denoiser = RNNoise(48000)
    out = np.concatenate([f for _, f in denoiser.denoise_chunk(pcm, partial=True)], axis=1)
    out = out.astype(np.float64) / 32767
    lag = int(np.argmax([np.dot(out[0, d : d + 48000], up[0, :48000]) for d in range(0, 2000)]))
    out = out[:, lag:]
    out = np.pad(out, ((0, 0), (0, max(0, up.shape[1] - out.shape[1]))))[:, : up.shape[1]]
    return resample(out, 48000, RATE)[:, : noisy.shape[1]].astype(np.float32)


def noisereduce(noisy: np.ndarray) -> np.ndarray:
    import noisereduce as nr

    return nr.reduce_noise(y=noisy[0], sr=RATE)[None].astype(np.float32)


def quality_table(cases, model: str | None, also: tuple[str, ...] = ()) -> list[str]:
    """The test table; ``also``: more `enhance` checkpoints, each a row of the same run."""
    enhance = get_method("enhance")(**({"model": model} if model else {}))
    earlier = {f"enhance, `{Path(path).name}`": get_method("enhance")(model=path)
               for path in also}
    irm = get_method("irm")()
    methods = {
        "noisy input": lambda x, s, n: x,
        "enhance (unweave)": lambda x, s, n: enhance(x, RATE)["speech"],
        **{label: (lambda x, s, n, e=e: e(x, RATE)["speech"]) for label, e in earlier.items()},
        "RNNoise (pyrnnoise 0.4)": lambda x, s, n: rnnoise(x),
        "noisereduce 3": lambda x, s, n: noisereduce(x),
        "ideal ratio mask (oracle)": lambda x, s, n: irm(x, RATE, references={
            "speech": s, "noise": n})["speech"],
    }
    rows: dict[str, dict[int, list]] = {m: {snr: [] for snr in SNRS} for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    for snr, clean, noise in cases:
        noisy = clean + noise
        base = si_sdr(clean[None], noisy[None]).si_sdr[0]
        for label, run in methods.items():
            start = time.perf_counter()
            est = run(noisy, clean, noise)
            seconds[label] += time.perf_counter() - start
            value = si_sdr(clean[None], est[None]).si_sdr[0]
            p = pesq_scores(clean, est, RATE)["PESQ-WB"]
            rows[label][snr].append((value - base, p, stoi_score(clean, est, RATE)))
    n = len(cases) // len(SNRS)
    lines = [f"{n} speechocean762 test speakers x {len(SNRS)} SNRs, noise types never trained "
             "on; mean SI-SDR improvement (dB) / PESQ wide-band / STOI", "",
             "| method | " + " | ".join(f"SNR {s} dB" for s in SNRS) + " | all | seconds |",
             "|---|" + "---|" * (len(SNRS) + 2)]
    for label, per in rows.items():
        cells = []
        for snr in SNRS:
            a = np.array(per[snr])
            cells.append(f"{a[:, 0].mean():.2f} / {np.nanmean(a[:, 1]):.2f} / "
                         f"{a[:, 2].mean():.3f}")
        a = np.concatenate([np.array(per[s]) for s in SNRS])
        cells.append(f"**{a[:, 0].mean():.2f} / {np.nanmean(a[:, 1]):.2f} / "
                     f"{a[:, 2].mean():.3f}**")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {seconds[label]:.0f} |")
    return lines


def noise_gap_table(corpora: Path, model: str | None, speakers: int = 40) -> list[str]:
    """Where `enhance` loses: speakers and noise types, each seen in training or not (SI-SDR
    improvement only, the test set's mixing)."""
    enhance = get_method("enhance")(**({"model": model} if model else {}))
    lines = ["| speakers | noise types | " + " | ".join(f"SNR {s} dB" for s in SNRS) +
             " | all |", "|---|---|" + "---|" * (len(SNRS) + 1)]
    for split in ("test", "train"):
        for held in (True, False):
            cases, _ = test_set(corpora, speakers, split=split, held_out=held)
            per: dict[int, list] = {snr: [] for snr in SNRS}
            for snr, clean, noise in cases:
                noisy = clean + noise
                gain = si_sdr(clean[None], enhance(noisy, RATE)["speech"][None]).si_sdr[0] - \
                    si_sdr(clean[None], noisy[None]).si_sdr[0]
                per[snr].append(gain)
            cells = [f"{np.mean(per[snr]):.2f}" for snr in SNRS]
            lines.append(f"| {split} | {'held out' if held else 'trained on'} | " +
                         " | ".join(cells) + f" | {np.mean(list(per.values())):.2f} |")
    return lines


def stream_table(model: str | None) -> list[str]:
    """`unweave stream` on one thread: 60 s of speech in noise at 16 and 48 kHz, 10 ms
    blocks; the output against `unweave separate -m enhance` on the same file."""
    import soundfile as sf

    flags = ["--model", model] if model else []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    lines = ["`unweave stream -m enhance IN OUT --block-ms 10` with `OMP_NUM_THREADS=1` (the "
             "whole command, start-up included), and its output against `unweave separate "
             "-m enhance`", "", "| input | seconds for 60 s | real-time factor | largest "
             "difference from separate |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for rate in (16000, 48000):
            rng = np.random.default_rng(rate)
            x = (0.05 * rng.standard_normal((60 * rate, 1))).astype(np.float32)
            song = tmp / f"noisy{rate}.wav"
            sf.write(song, x, rate, subtype="FLOAT")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "unweave", "stream", "-m", "enhance", *flags,
                            str(song), str(tmp / f"s{rate}.wav"), "-q"], check=True, env=env)
            seconds = time.perf_counter() - start
            subprocess.run([sys.executable, "-m", "unweave", "separate", str(song), "-m",
                            "enhance", *flags, "-o", str(tmp / "sep"), "-q"], check=True,
                           env=env)
            a = sf.read(tmp / f"s{rate}.wav")[0]
            b = sf.read(tmp / "sep" / f"noisy{rate}" / "speech.wav")[0]
            lines.append(f"| {rate} Hz mono | {seconds:.1f} | {seconds / 60:.3f} | "
                         f"{np.abs(a - b).max():.1e} |")
    return lines


def main(corpora: str, model: str | None = None, also: tuple[str, ...] = ()) -> list[str]:
    cases, noises = test_set(Path(corpora).expanduser())
    return [f"Machine: {machine()}; {noises} held-out noise recordings", ""] + \
        quality_table(cases, model, also) + [""] + stream_table(model)


if __name__ == "__main__":  # CORPORA [MODEL] [--also EARLIER.pt ...]
    args = sys.argv[1:]
    also = tuple(args[args.index("--also") + 1:]) if "--also" in args else ()
    args = args[:args.index("--also")] if "--also" in args else args
    print("\n".join(main(args[0], args[1] if len(args) > 1 else None, also)))
