"""Greedy model soup of ``stems`` checkpoints on MUSDB's 14 validation tracks (Wortsman et al.,
ICML 2022): the checkpoints, given best first by their own validation, join the soup one by one
when the mean of the weights scores no lower (the training's measure: mean over the four stems
of the median 1 s-window SDR). Validation tracks only; the test set is never read.

    .venv/bin/python benchmarks/greedy_soup.py ~/corpora/musdb18-7s BEST.pt NEXT.pt ...

Then ``unweave average <the soup's checkpoints> --out soup.pt`` writes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from unweave.data.index import index_tracks
from unweave.nn import checkpoint
from unweave.nn.train.recipes import MUSDB_VALIDATION, music_medians


def score(paths: list[str], tracks) -> list[float]:
    """Validation SDR (dB) per stem of the mean of ``paths``' weights."""
    ones = [checkpoint.load(p) for p in paths]
    model = checkpoint.model_from(checkpoint.average(ones, paths) if len(ones) > 1 else ones[0])
    sources = range(len(model.sources))
    with torch.no_grad():
        medians = music_medians(model, tracks, tuple(sources), 10.0, "cpu")
    return [float(np.mean([m for k, m in medians if k == j])) for j in sources]


def main(corpus: str, paths: list[str]) -> list[str]:
    tracks = [t for t in index_tracks(Path(corpus).expanduser() / "train")
              if t.name in MUSDB_VALIDATION]
    soup = [paths[0]]
    per = score(soup, tracks)
    best = float(np.mean(per))
    lines = [f"start {paths[0]}: {best:.3f} {[round(x, 2) for x in per]}"]
    for path in paths[1:]:
        per = score(soup + [path], tracks)
        keep = float(np.mean(per)) >= best
        lines.append(f"+ {path}: {np.mean(per):.3f} {[round(x, 2) for x in per]} "
                     f"{'kept' if keep else 'left out'}")
        if keep:
            soup, best = soup + [path], float(np.mean(per))
    return lines + [f"soup ({best:.3f}): {' '.join(soup)}"]


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1], sys.argv[2:])))
