"""Lazy indexes of training data: what is where, how long, at what rate; no samples in memory.

Tracks (music with stems), found under a folder in any of these layouts:

- stem folders: a folder per track holding ``<stem>.<ext>`` files, one of them a known stem
  name (``vocals``, ``drums``...); MUSDB18-HQ's ``train/<track>/{mixture,drums,bass,other,
  vocals}.wav`` is one (``mixture`` is left out: it is the sum);
- MUSDB18 ``.stem.mp4`` files (AAC streams: mixture, drums, bass, other, vocals); they are
  decoded once into a cache folder (``UNWEAVE_CACHE`` or ``~/.cache/unweave``) so that excerpts
  are then read by seeking;
- MIR-1K style pairs: stereo files with the accompaniment on the left channel and the voice on
  the right (``vocals`` and ``accompaniment``); the group of a clip is its singer (the file
  name's first part), for splits that keep a singer on one side.

Recordings (speech or noise): a folder of audio files (a speaker or noise class per folder), or a
Kaldi data folder / ``wav.scp`` list (paths relative to the list's folder or its parent) with
``utt2spk`` beside it naming each utterance's speaker.

Reading an excerpt seeks in the file (WAV, FLAC...); other formats are read whole each time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from unweave.audio import AUDIO_FILE_SUFFIXES, is_stem_file, native_path, read_audio
from unweave.errors import AudioReadError, UnweaveError

#: Stem names that mark a folder as one track's stems.
KNOWN_STEMS = ("vocals", "drums", "bass", "other", "accompaniment", "instrumental", "piano",
               "guitar", "speech", "noise")

Skip = Callable[[str], None] | None


def read_each(items: list, read: Callable, on_skip: Skip) -> Iterable[tuple]:
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


@dataclass(frozen=True)
class Part:
    """A file (or some of its channels) that makes up a stem."""

    path: str
    channels: tuple[int, ...] | None = None  # None: every channel


@dataclass(frozen=True)
class Track:
    """A track's stems, by name, each the sum of its parts; ``frames`` samples at
    ``sample_rate`` with ``channels`` channels."""

    name: str
    group: str
    sample_rate: int
    frames: int
    channels: int
    stems: tuple[tuple[str, tuple[Part, ...]], ...]

    @property
    def stem_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.stems)

    def parts(self, source: str, targets: Iterable[str]) -> tuple[Part, ...]:
        """The files of ``source``. A source the track does not have is the sum of the stems no
        other target names (the accompaniment of vocals, ``other`` beyond drums/bass/vocals)."""
        stems = dict(self.stems)
        if source in stems:
            return stems[source]
        rest = [p for name, parts in self.stems if name not in targets for p in parts]
        if not rest:
            raise UnweaveError(f"{self.name}: has no stem for '{source}'")
        return tuple(rest)

    def read(self, source: str, start: int, frames: int, targets: Iterable[str] = ()
             ) -> np.ndarray:
        """``(channels, frames)`` float32 of ``source`` from sample ``start`` (zero-padded at
        the end of the track)."""
        out = np.zeros((self.channels, frames), np.float32)
        for part in self.parts(source, tuple(targets)):
            audio = read_excerpt(part.path, start, frames)
            if part.channels is not None:
                audio = audio[list(part.channels)]
            audio = audio if audio.shape[0] == self.channels else \
                np.broadcast_to(audio.mean(axis=0, keepdims=True), (self.channels,
                                                                    audio.shape[1]))
            out[:, : audio.shape[1]] += audio
        return out


@dataclass(frozen=True)
class Recording:
    """One file of speech or noise: ``group`` is its speaker (or noise class)."""

    name: str
    group: str
    path: str
    sample_rate: int
    frames: int
    channels: int

    def read(self, start: int, frames: int) -> np.ndarray:
        """``(channels, <= frames)`` float32 from sample ``start``."""
        return read_excerpt(self.path, start, frames)


@dataclass(frozen=True)
class StemRecording:
    """One stem of a track seen as a recording (music as noise for speech enhancement): the
    stem ``stem`` among ``targets`` (see :meth:`Track.parts`)."""

    track: Track
    stem: str
    targets: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.track.name}/{self.stem}"

    @property
    def group(self) -> str:
        return self.track.group

    @property
    def sample_rate(self) -> int:
        return self.track.sample_rate

    @property
    def frames(self) -> int:
        return self.track.frames

    @property
    def channels(self) -> int:
        return self.track.channels

    def read(self, start: int, frames: int) -> np.ndarray:
        return self.track.read(self.stem, start, frames, self.targets)


def read_excerpt(path: str, start: int, frames: int) -> np.ndarray:
    """``(channels, <= frames)`` float32 samples of ``path`` from ``start``."""
    try:
        with sf.SoundFile(native_path(path)) as f:
            if f.seekable():
                f.seek(min(start, f.frames))
                return f.read(frames, dtype="float32", always_2d=True).T
    except (sf.LibsndfileError, RuntimeError, OSError):
        pass
    audio, _ = read_audio(path)
    return audio[:, start : start + frames]


def _info(path: Path) -> tuple[int, int, int]:
    """``(sample_rate, frames, channels)`` from the header (a whole read when it has none)."""
    try:
        info = sf.info(native_path(path))
        if info.frames > 0:
            return info.samplerate, info.frames, info.channels
    except (sf.LibsndfileError, RuntimeError, OSError):
        pass
    audio, rate = read_audio(path)
    return rate, audio.shape[1], audio.shape[0]


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in AUDIO_FILE_SUFFIXES and not is_stem_file(p))


def cache_folder() -> Path:
    return Path(os.environ.get("UNWEAVE_CACHE") or Path.home() / ".cache" / "unweave")


def _decoded_stems(path: Path, cache: Path) -> Path:
    """A folder of ``<stem>.wav`` files decoded from the ``.stem.mp4`` at ``path`` (once:
    keyed by the file's absolute path, size and modification time)."""
    from unweave.atomic import atomic_path
    from unweave.audio import read_stems, write_audio

    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode(),
                       usedforsecurity=False).hexdigest()[:16]
    folder = cache / "decoded" / key
    done = folder / "done"
    if not done.exists():
        stems, rate = read_stems(path)
        folder.mkdir(parents=True, exist_ok=True)
        for name, audio in stems.items():
            if name != "mixture":
                write_audio(folder / f"{name}.wav", audio, rate, bits=32, overwrite=True)
        with atomic_path(done) as tmp:
            tmp.write_text(str(path))
    return folder


def _stem_track(name: str, files: list[Path], on_skip: Skip) -> Track | None:
    infos = [info for _, info in read_each(files, _info, on_skip)]
    if len(infos) < len(files):
        return None  # a stem could not be read (said): not the whole track
    parts = [(f.stem.lower(), (Part(str(f)),)) for f in files]
    if len({i[0] for i in infos}) != 1:
        raise UnweaveError(f"{name}: stems have different sample rates")
    return Track(name, name, infos[0][0], min(i[1] for i in infos), max(i[2] for i in infos),
                 tuple(parts))


def index_tracks(folder: str | Path, on_skip: Skip = None, cache: Path | None = None,
                 progress: bool = False) -> list[Track]:
    """Every track under ``folder`` (any layout above), sorted by name. ``on_skip(message)``
    receives each unreadable file left out (without it, one raises)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UnweaveError(f"{folder}: no such data folder")
    tracks: list[Track] = []
    stem_dirs = sorted({f.parent for f in _audio_files(folder) if f.stem.lower() in KNOWN_STEMS})
    for d in stem_dirs:
        files = [f for f in sorted(d.iterdir()) if f.is_file() and not f.name.startswith(".")
                 and f.suffix.lower() in AUDIO_FILE_SUFFIXES and not is_stem_file(f)
                 and f.stem.lower() != "mixture"]
        track = _stem_track(d.name, files, on_skip)
        if track is not None:
            tracks.append(track)
    stem_files = sorted(folder.rglob("*.stem.mp4"))
    if stem_files:
        from tqdm import tqdm

        for f in tqdm(stem_files, desc="decoding .stem.mp4 once", disable=not progress,
                      leave=False):
            decoded = next((d for _, d in read_each(
                [f], lambda p: _decoded_stems(p, cache or cache_folder()), on_skip)), None)
            if decoded is None:
                continue
            name = f.name[: -len(".stem.mp4")]
            track = _stem_track(name, sorted(decoded.glob("*.wav")), on_skip)
            if track is not None:
                tracks.append(track)
    if not tracks:
        for f, (rate, frames, channels) in read_each(_audio_files(folder), _info, on_skip):
            if channels == 2:  # MIR-1K: left accompaniment, right voice
                tracks.append(Track(f.stem, f.stem.split("_")[0], rate, frames, 1,
                                    (("vocals", (Part(str(f), (1,)),)),
                                     ("accompaniment", (Part(str(f), (0,)),)))))
    return sorted(tracks, key=lambda t: t.name)


def tracks_with(tracks: list[Track], sources: Iterable[str], where: str) -> list[Track]:
    """The tracks that give every one of ``sources`` (at most one of them as the rest of the
    stems); a clear error when none does."""
    sources = tuple(sources)
    fit = []
    for t in tracks:
        missing = [s for s in sources if s not in t.stem_names]
        rest = [n for n in t.stem_names if n not in sources]
        if not missing or (len(missing) == 1 and rest):
            fit.append(t)
    if not fit:
        found = sorted({n for t in tracks for n in t.stem_names})
        raise UnweaveError(f"{where}: no track has the sources {', '.join(sources)} (found "
                           f"{len(tracks)} tracks with stems: {', '.join(found) or 'none'})")
    return fit


def _kaldi_list(path: Path) -> tuple[Path, Path]:
    """``(wav.scp, folder)`` of a Kaldi data folder or list."""
    scp = path / "wav.scp" if path.is_dir() else path
    return scp, scp.parent


def _read_kaldi(scp: Path, on_skip: Skip) -> list[Recording]:
    folder = scp.parent
    speakers = {}
    utt2spk = folder / "utt2spk"
    if utt2spk.is_file():
        for line in utt2spk.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2:
                speakers[parts[0]] = parts[1]
    paths = []
    for line in scp.read_text().splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            continue
        utt, rel = parts[0], parts[1].strip()
        if rel.endswith("|"):
            raise UnweaveError(f"{scp}: piped commands ('{rel}') are not supported; list "
                               "audio files")
        candidates = [Path(rel)] if Path(rel).is_absolute() else [folder / rel,
                                                                   folder.parent / rel]
        paths.append((utt, next((c for c in candidates if c.is_file()), candidates[-1])))
    return [Recording(utt, speakers.get(utt, utt), str(path), *info)
            for (utt, path), info in read_each(paths, lambda item: _info(item[1]), on_skip)]


def name_matches(path: str | Path, globs: Iterable[str]) -> bool:
    """Whether the file name of ``path`` matches one of ``globs`` (``fnmatch`` patterns)."""
    import fnmatch

    name = Path(path).name
    return any(fnmatch.fnmatch(name, g) for g in globs)


def index_recordings(paths: Iterable[str | Path], on_skip: Skip = None,
                     exclude: Iterable[str] = ()) -> list[Recording]:
    """Every recording under ``paths`` (folders of audio files, Kaldi data folders or
    ``wav.scp`` lists), sorted by name; file names matching an ``exclude`` glob are left
    out (noise types set aside for testing, say)."""
    exclude = tuple(exclude)
    out: list[Recording] = []
    for p in map(Path, paths):
        if p.is_file() and p.name == "wav.scp" or p.is_dir() and (p / "wav.scp").is_file():
            out += _read_kaldi(_kaldi_list(p)[0], on_skip)
            continue
        if not p.exists():
            raise UnweaveError(f"{p}: no such data folder or list")
        files = [p] if p.is_file() else _audio_files(p)
        out += [Recording(f.stem, f.parent.name, str(f), *info)
                for f, info in read_each(files, _info, on_skip)]
    out = [r for r in out if not name_matches(r.path, exclude)]
    return sorted(out, key=lambda r: (r.group, r.name))


def split_groups(items: list, validation: float = 0.15, seed: int = 0,
                 names: Iterable[str] = ()) -> tuple[list, list]:
    """``(training, validation)``: whole groups (singers, songs, speakers) on one side only.
    ``names`` picks the validation items by name (MUSDB's fixed validation tracks; clips of a
    few songs of the training singers, as Huang et al.'s MIR-1K protocol needs) or whole
    groups by the group's name; otherwise a seeded share ``validation`` of the groups."""
    names = set(names)
    if names:
        def is_held(x) -> bool:
            return x.name in names or x.group in names
    else:
        groups = sorted({x.group for x in items})
        rng = np.random.default_rng(seed)
        rng.shuffle(groups)
        n_val = max(1, int(round(validation * len(groups)))) if len(groups) > 1 and \
            validation > 0 else 0
        held = set(groups[:n_val])

        def is_held(x) -> bool:
            return x.group in held
    return [x for x in items if not is_held(x)], [x for x in items if is_held(x)]

