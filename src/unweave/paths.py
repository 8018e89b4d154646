"""Turning user-given paths into input files and safe output names."""

from __future__ import annotations

import glob
from pathlib import Path

from unweave.audio import AUDIO_FILE_SUFFIXES
from unweave.errors import UnweaveError
from unweave.names import safe_name, unique_names


def expand_inputs(patterns: list[str], exclude: Path | None = None) -> list[Path]:
    """Files, folders (searched recursively for audio files) and globs -> a list of files.

    Names that match nothing are kept as they are, so reading them reports 'no such file'.
    Files that folders and globs find under ``exclude`` (the output folder) are left out, so
    a rerun does not separate the previous run's outputs.
    """
    found: list[Path] = []
    outside = _outside(exclude)
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in AUDIO_FILE_SUFFIXES
                           and not p.name.startswith(".") and outside(p))
            if not files:
                raise UnweaveError(f"{path}: folder holds no audio files")
            found.extend(files)
        elif not path.exists() and glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            if not matches:
                raise UnweaveError(f"{pattern}: matches no files")
            found.extend(p for p in matches if p.is_file() and outside(p))
        else:
            found.append(path)
    unique = list(dict.fromkeys(found))
    return unique


def _outside(folder: Path | None):
    """A test: is a path outside ``folder`` (always true without one)?"""
    if folder is None:
        return lambda p: True
    root = folder.resolve()
    return lambda p: not p.resolve().is_relative_to(root)


def track_name(path: Path) -> str:
    """The name of a track's output folder: the file name without its audio extension(s)."""
    name = path.name
    for suffix in (".stem.mp4",):
        if name.lower().endswith(suffix):
            return safe_name(name[: -len(suffix)])
    return safe_name(path.stem)


def unique_track_names(paths: list[Path]) -> list[str]:
    """Output folder names for ``paths``, distinct even when inputs share a name."""
    return unique_names([track_name(p) for p in paths])
