"""Shared fixtures: real data from ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from unweave.audio import read_audio

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNWEAVE_DATA", ROOT.parent / "shared" / "data"))


def data_path(*parts: str) -> Path:
    """A path under the shared data folder; skips the test when it is missing."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


def load_rock() -> tuple[dict[str, np.ndarray], int]:
    """MUSDB18 '80s Rock' 7 s stems (stereo 44.1 kHz), exactly as museval sees them."""
    folder = data_path("musdb18_7s_80s_rock_museval", "decoded")
    stems = {n: read_audio(folder / f"{n}.flac")[0] for n in ("drums", "bass", "other", "vocals")}
    return stems, 44100


def load_nz_tour() -> tuple[dict[str, np.ndarray], int]:
    """SiSEC 2011 'Ultimate NZ Tour' 18 s tracks (stereo 44.1 kHz); mix = sum of tracks."""
    folder = data_path("sisec2011_music_dev", "Ultimate_NZ_Tour", "Tracks")
    stems = {}
    for f in sorted(folder.glob("*.flac")):
        stems[f.stem.split("__")[-1]] = read_audio(f)[0]
    return stems, 44100


TRACKS = {"80s_rock": load_rock, "nz_tour": load_nz_tour}


@pytest.fixture(scope="session", params=sorted(TRACKS))
def music_track(request):
    """(name, stems, sample_rate) for each real multitrack song."""
    stems, rate = TRACKS[request.param]()
    return request.param, stems, rate
