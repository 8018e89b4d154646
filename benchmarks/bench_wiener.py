"""The multichannel Wiener filter against sigsep's ``norbert`` (the peer Open-Unmix uses): one
EM pass over 30 s of stereo 44.1 kHz (4096-point frames every 1024 samples, 4 sources), as
``-m stems`` runs it per segment; seconds, and the largest difference of the outputs relative
to the peak. ``unweave.masking.wiener`` runs its bands and frame blocks on threads, one per
core it may use (``norbert`` runs on one), so one CPU and all of them:

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/bench_wiener.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_wiener.py
"""

from __future__ import annotations

import time

import norbert
import numpy as np

from unweave.masking import wiener


def main(repeats: int = 3) -> list[str]:
    rng = np.random.default_rng(0)
    sources, channels, freqs, frames = 4, 2, 2049, 1300
    x = (rng.standard_normal((channels, freqs, frames))
         + 1j * rng.standard_normal((channels, freqs, frames))).astype(np.complex64)
    mask = rng.uniform(0, 1, (sources, 1, freqs, frames)).astype(np.float32)
    mask /= mask.sum(0, keepdims=True)
    ours_in = np.sqrt(mask) * x  # (S, C, F, T): amplitude masks as power ratios
    # norbert's layout: magnitudes (T, F, C, S), mixture (T, F, C)
    v = np.ascontiguousarray(np.broadcast_to(np.sqrt(mask) * np.abs(x), ours_in.shape)
                             .transpose(3, 2, 1, 0))
    xt = np.ascontiguousarray(x.transpose(2, 1, 0))
    lines = ["| run | unweave (s) | norbert (s) | norbert / unweave | largest difference |",
             "|---|---|---|---|---|"]
    for k in range(repeats):
        start = time.perf_counter()
        ours = wiener(ours_in, x, 1)
        mid = time.perf_counter()
        peer = norbert.wiener(v, xt, 1, use_softmask=False).transpose(3, 2, 1, 0)
        end = time.perf_counter()
        diff = np.abs(ours - peer).max() / np.abs(peer).max()
        lines.append(f"| {k + 1} | {mid - start:.2f} | {end - mid:.2f} | "
                     f"{(end - mid) / (mid - start):.1f}x | {diff:.1e} |")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
