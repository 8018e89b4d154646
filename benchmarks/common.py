"""Helpers shared by the benchmarks: data location, timing, a 30 s test signal."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNWEAVE_DATA", ROOT.parent / "shared" / "data"))


def timeit(fn, repeat: int = 3) -> tuple[float, object]:
    """Median wall time in seconds over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def music_30s() -> tuple[np.ndarray, int, str]:
    """30 s of real stereo music at 44.1 kHz (the NZ Tour mix, looped), or noise if absent."""
    from unweave.audio import read_audio

    path = DATA / "sisec2011_music_dev/Ultimate_NZ_Tour" / \
        "dev2__ultimate_nz_tour__snip_43_61__mix.flac"
    n = 30 * 44100
    if path.exists():
        audio, rate = read_audio(path)
        reps = -(-n // audio.shape[-1])
        return np.tile(audio, reps)[:, :n], rate, "SiSEC 2011 NZ Tour mix, looped to 30 s"
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((2, n))).astype(np.float32), 44100, "white noise"


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
           f"Python {platform.python_version()}, numpy {np.__version__}"


def musdb_validation(corpus: str | Path) -> list:
    """MUSDB's 14 validation tracks of ``corpus``'s ``train/`` (never its ``test/``)."""
    from unweave.data.index import index_tracks
    from unweave.nn.train.recipes import MUSDB_VALIDATION

    return [t for t in index_tracks(Path(corpus).expanduser() / "train")
            if t.name in MUSDB_VALIDATION]
