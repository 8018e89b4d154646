"""Greedy model soup of ``stems`` checkpoints on MUSDB's 14 validation tracks (Wortsman et al.,
ICML 2022): the checkpoints, given best first by their own validation, join the soup one by one
when the mean of the weights scores no lower (the training's measure: mean over the four stems
of the median 1 s-window SDR). Validation tracks only; the test set is never read.

    .venv/bin/python benchmarks/greedy_soup.py ~/corpora/musdb18-7s BEST.pt NEXT.pt ...

Then ``unweave average <the soup's checkpoints> --out soup.pt`` writes it.
"""

from __future__ import annotations

import sys

import numpy as np
from common import musdb_validation

from unweave.nn import checkpoint
from unweave.nn.train.recipes import music_stem_scores


def score(paths: list[str], tracks) -> list[float]:
    """Validation SDR (dB) per stem of the mean of ``paths``' weights."""
    ones = [checkpoint.load(p) for p in paths]
    model = checkpoint.model_from(checkpoint.average(ones, paths) if len(ones) > 1 else ones[0])
    return music_stem_scores(model, tracks)


def main(corpus: str, paths: list[str]) -> list[str]:
    tracks = musdb_validation(corpus)
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
