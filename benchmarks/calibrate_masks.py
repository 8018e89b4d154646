"""Per-source mask exponents of a ``stems`` checkpoint, chosen on MUSDB's 14 validation tracks
(the training's measure: mean over the four stems of the median 1 s-window SDR). Each
source's sigmoid mask is raised to its power before the masks are capped to sum to one
(``MultiUNet.mask_powers``): below 1 a source takes more of each bin. Coordinate descent over
a grid, two passes; the weights are not touched. ``--wiener N`` scores the separations after
N passes of the Wiener post-filter (the ``stems`` default is 1). Validation tracks only; the
test set is never read.

    .venv/bin/python benchmarks/calibrate_masks.py ~/corpora/musdb18-7s MODEL.pt --out OUT.pt
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from common import musdb_validation

from unweave.nn import checkpoint
from unweave.nn.postfilter import WienerFiltered
from unweave.nn.train.recipes import music_stem_scores

GRID = (0.5, 0.65, 0.8, 1.0, 1.25)


def score(data: dict, powers: tuple[float, ...], tracks, wiener: int = 0) -> list[float]:
    """Validation SDR (dB) per stem with these mask exponents (and ``wiener`` EM passes)."""
    model = checkpoint.model_from(
        {**data, "model_args": {**data["model_args"], "mask_powers": list(powers)}})
    return music_stem_scores(WienerFiltered(model.eval(), wiener), tracks)


def calibrate(data: dict, tracks, passes: int = 2, wiener: int = 0
              ) -> tuple[tuple[float, ...], list[str]]:
    n = len(data["model_args"]["sources"])
    powers = tuple(data["model_args"].get("mask_powers") or (1.0,) * n)
    best = float(np.mean(score(data, powers, tracks, wiener)))
    lines = [f"start {powers}: {best:.3f}"]
    for _ in range(passes):
        for j in range(n):
            for p in GRID:
                trial = powers[:j] + (p,) + powers[j + 1 :]
                if trial == powers:
                    continue
                per = score(data, trial, tracks, wiener)
                if float(np.mean(per)) > best + 1e-3:
                    powers, best = trial, float(np.mean(per))
                    lines.append(f"{powers}: {best:.3f} {[round(x, 2) for x in per]}")
    return powers, lines


def main(argv: list[str]) -> list[str]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus")
    p.add_argument("model")
    p.add_argument("--out", required=True)
    p.add_argument("--wiener", type=int, default=0, help="Wiener EM passes when scoring")
    args = p.parse_args(argv)
    tracks = musdb_validation(args.corpus)
    data = checkpoint.load(args.model)
    powers, lines = calibrate(data, tracks, wiener=args.wiener)
    per = score(data, powers, tracks, args.wiener)
    data["model_args"] = {**data["model_args"], "mask_powers": list(powers)}
    training = data.setdefault("training", {})
    earlier = training.get("calibration")
    training["calibration"] = {
        "mask_powers": list(powers), "wiener_iterations": args.wiener,
        "validation": float(np.mean(per)),
        "validation_per_source": per,
        "command": "benchmarks/calibrate_masks.py " + " ".join(argv)}
    if earlier:  # a calibration of a calibrated model keeps the record of the first
        training["calibration"]["earlier"] = earlier
    checkpoint.save(args.out, data)
    return lines + [f"chosen {powers}: {np.mean(per):.3f} {[round(x, 2) for x in per]} -> "
                    f"{args.out}"]


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1:])))
