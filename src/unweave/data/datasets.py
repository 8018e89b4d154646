"""Paired training data: tracks with their vocals and accompaniment, excerpts, augmentation.

Two layouts are read:
- MIR-1K style: stereo files with the accompaniment on the left channel and the voice on the
  right (``mir1k``); the group of a clip (for splitting) is its singer, the name's first part;
- stems: a folder of track folders holding ``vocals.<ext>`` and other stems (MUSDB style;
  ``.stem.mp4`` files too); accompaniment = the sum of the other stems; group = the track.

Everything is resampled to the networks' rate and mixed down to mono.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unweave.audio import AUDIO_FILE_SUFFIXES, is_stem_file, read_audio, read_sources, resample
from unweave.errors import AudioReadError, UnweaveError


@dataclass
class Track:
    name: str
    group: str
    vocals: np.ndarray  # (samples,) float32
    accompaniment: np.ndarray


def _mono(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    return resample(x.mean(axis=0, keepdims=True), rate, target)[0].astype(np.float32)


Skip = Callable[[str], None] | None


def read_each(items: list, read: Callable, on_skip: Skip) -> Iterator[tuple]:
    """``(item, read(item))`` for every item. An unreadable one raises, or with ``on_skip`` is
    reported to it (one line) and left out: one broken file in a data set of thousands need
    not stop training."""
    for item in items:
        try:
            yield item, read(item)
        except AudioReadError as exc:
            if on_skip is None:
                raise
            on_skip(str(exc))


def load_tracks(folder: str | Path, sample_rate: int, on_skip: Skip = None) -> list[Track]:
    """Every paired track under ``folder`` (either layout), sorted by name. ``on_skip(message)``
    receives each unreadable file left out (without it, one raises)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UnweaveError(f"{folder}: no such data folder")
    tracks = []
    stem_dirs = sorted(p for p in folder.rglob("*") if p.is_dir()
                       and any(f.stem == "vocals" for f in p.iterdir() if f.is_file()))
    stem_files = sorted(p for p in folder.rglob("*.stem.mp4"))
    for d, (sources, rate) in read_each(stem_dirs + stem_files, read_sources, on_skip):
        if "vocals" not in sources or len(sources) < 2:
            continue
        vocals = sources.pop("vocals")
        name = d.name.removesuffix(".stem.mp4")
        tracks.append(Track(name, name, _mono(vocals, rate, sample_rate),
                            _mono(sum(sources.values()), rate, sample_rate)))
    if not tracks:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_FILE_SUFFIXES
                       and not is_stem_file(p))
        for f, (audio, rate) in read_each(files, read_audio, on_skip):
            if audio.shape[0] != 2:
                continue
            vocals = resample(audio[1:2], rate, sample_rate)[0].astype(np.float32)
            accomp = resample(audio[0:1], rate, sample_rate)[0].astype(np.float32)
            tracks.append(Track(f.stem, f.stem.split("_")[0], vocals, accomp))
    if not tracks:
        raise UnweaveError(f"{folder}: holds no paired tracks (stereo MIR-1K style files, or "
                           "track folders with a vocals file)")
    return tracks


def split_by_group(tracks: list[Track], validation: float = 0.15, seed: int = 0
                   ) -> tuple[list[Track], list[Track]]:
    """Training and validation tracks, whole groups (singers or songs) on one side only."""
    groups = sorted({t.group for t in tracks})
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)
    n_val = max(1, int(round(validation * len(groups)))) if len(groups) > 1 else 0
    held = set(groups[:n_val])
    return [t for t in tracks if t.group not in held], [t for t in tracks if t.group in held]


class ExcerptSampler:
    """Random training excerpts with on-the-fly remixing, deterministic for a seed.

    Each example: a random excerpt of a track's vocals, an excerpt of the same track's
    accompaniment or (with probability ``remix``) of another track's, each scaled by a random
    gain within ``gain_db``, summed into the mixture.
    """

    def __init__(self, tracks: list[Track], samples: int, seed: int = 0, remix: float = 0.5,
                 gain_db: float = 6.0):
        if not tracks:
            raise UnweaveError("no training tracks")
        self.tracks, self.samples, self.remix, self.gain_db = tracks, samples, remix, gain_db
        self.rng = np.random.default_rng(seed)

    def _excerpt(self, x: np.ndarray) -> np.ndarray:
        if len(x) <= self.samples:
            return np.pad(x, (0, self.samples - len(x)))
        start = int(self.rng.integers(0, len(x) - self.samples))
        return x[start : start + self.samples]

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``(mixtures, vocals)``, each ``(size, samples)`` float32."""
        mixes, vocals = [], []
        for _ in range(size):
            t = self.tracks[int(self.rng.integers(len(self.tracks)))]
            other = t if self.rng.random() >= self.remix else \
                self.tracks[int(self.rng.integers(len(self.tracks)))]
            v = self._excerpt(t.vocals) * 10 ** (self.rng.uniform(-1, 1) * self.gain_db / 20)
            a = self._excerpt(other.accompaniment) * 10 ** (self.rng.uniform(-1, 1)
                                                             * self.gain_db / 20)
            mixes.append(v + a)
            vocals.append(v)
        return np.stack(mixes).astype(np.float32), np.stack(vocals).astype(np.float32)


@dataclass
class Unpaired:
    """Unpaired data: mixtures without stems, and isolated vocals without their mixtures."""

    mixtures: list[np.ndarray]
    vocals: list[np.ndarray]


def load_unpaired(folder: str | Path, sample_rate: int, on_skip: Skip = None) -> Unpaired:
    """``folder/mixtures/*`` and ``folder/vocals/*`` audio files (mono mixdowns); unreadable
    files as in :func:`load_tracks`."""
    folder = Path(folder)
    parts = {}
    for part in ("mixtures", "vocals"):
        sub = folder / part
        files = sorted(p for p in sub.rglob("*") if p.suffix.lower() in AUDIO_FILE_SUFFIXES) \
            if sub.is_dir() else []
        parts[part] = [_mono(*data, sample_rate)
                       for _, data in read_each(files, read_audio, on_skip)]
        if not parts[part]:
            raise UnweaveError(f"{sub}: unpaired data needs audio files in '{part}/'")
    return Unpaired(parts["mixtures"], parts["vocals"])


def random_excerpts(signals: list[np.ndarray], count: int, samples: int,
                    rng: np.random.Generator) -> np.ndarray:
    """``(count, samples)`` random excerpts (zero-padded when a signal is shorter)."""
    out = np.zeros((count, samples), np.float32)
    for i in range(count):
        x = signals[int(rng.integers(len(signals)))]
        start = int(rng.integers(0, max(1, len(x) - samples)))
        piece = x[start : start + samples]
        out[i, : len(piece)] = piece
    return out
