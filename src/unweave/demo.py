"""``unweave demo``: separate a synthesised song with several methods and write a page.

Offline and deterministic: the song is synthesised (:mod:`unweave.synth`), so nothing needs
downloading and no licence restricts it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from unweave.audio import write_audio
from unweave.errors import UnweaveError
from unweave.methods import get_method
from unweave.metrics import framewise_sdr
from unweave.report import Section, write_page
from unweave.synth import synth_song

SAMPLE_RATE = 22050

#: (method, options, {estimate name: (reference sources summed)})
RUNS = [
    ("mixture", {}, {"voice": ("voice",), "keys": ("keys",), "drums": ("drums",)}),
    ("hpss", {"kernel": 17}, {"harmonic": ("voice", "keys"), "percussive": ("drums",)}),
    ("center", {}, {"center": ("voice",), "sides": ("keys", "drums")}),
    ("irm", {}, {"voice": ("voice",), "keys": ("keys",), "drums": ("drums",)}),
]


def _score(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(np.nanmedian(framewise_sdr(reference, estimate, SAMPLE_RATE)))


def run_demo(out: Path, force: bool = False, quiet: bool = False) -> Path:
    """Write the demo into folder ``out``; return the page's path."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UnweaveError(f"{out}: exists (use --force to overwrite)")
        if not (out / "index.html").exists():
            raise UnweaveError(f"{out}: not a demo folder; refusing to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    sources = synth_song(SAMPLE_RATE)
    mixture = sum(sources.values())
    song = [("mixture", write_audio(out / "mixture.wav", mixture, SAMPLE_RATE))]
    song += [(f"true {k}", write_audio(out / f"true_{k}.wav", v, SAMPLE_RATE))
             for k, v in sources.items()]
    sections = [Section("The song (synthesised)", song,
                        note="voice in the centre, keys left, drums slightly right")]
    for method, options, targets in RUNS:
        cls = get_method(method)
        refs = {k: sum(sources[s] for s in parts) for k, parts in targets.items()}
        extra = {"references": refs} if method in ("irm", "mixture") else {}
        result = cls(**options)(mixture, SAMPLE_RATE, **extra)
        folder = out / method
        folder.mkdir()
        players, table = [], [["source", "compared with", "SDR (dB)"]]
        for name, estimate in result.sources.items():
            players.append((name, write_audio(folder / f"{name}.wav", estimate, SAMPLE_RATE)))
            if name in refs:
                table.append([name, " + ".join(targets[name]),
                              f"{_score(refs[name], estimate):.2f}"])
        sections.append(Section(f"{method}: {cls.summary}", players, table,
                                note=f"{cls.reference}"))
        if not quiet:
            print(f"demo: {method} done")
    return write_page(out / "index.html", "unweave demo", sections,
                      intro="SDR: median over 1 s windows of the energy ratio "
                      "(BSS Eval v4 image SDR); higher is better.")
