"""Turning user-given paths into input files and safe output names."""

from __future__ import annotations

import glob
import re
import unicodedata
from pathlib import Path

from unweave.audio import AUDIO_FILE_SUFFIXES
from unweave.errors import UnweaveError


def expand_inputs(patterns: list[str]) -> list[Path]:
    """Files, folders (searched recursively for audio files) and globs -> a list of files.

    Names that match nothing are kept as they are, so reading them reports 'no such file'.
    """
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in AUDIO_FILE_SUFFIXES
                           and not p.name.startswith("."))
            if not files:
                raise UnweaveError(f"{path}: folder holds no audio files")
            found.extend(files)
        elif not path.exists() and glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            if not matches:
                raise UnweaveError(f"{pattern}: matches no files")
            found.extend(p for p in matches if p.is_file())
        else:
            found.append(path)
    unique = list(dict.fromkeys(found))
    return unique


def track_name(path: Path) -> str:
    """The name of a track's output folder: the file name without its audio extension(s)."""
    name = path.name
    for suffix in (".stem.mp4",):
        if name.lower().endswith(suffix):
            return safe_name(name[: -len(suffix)])
    return safe_name(path.stem)


def safe_name(name: str, fallback: str = "track") -> str:
    """A single safe path component: no separators, no control characters, no dot-only names."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[/\\:]+", "_", name).strip().strip(".")
    return name[:200] or fallback


def unique_track_names(paths: list[Path]) -> list[str]:
    """Output folder names for ``paths``; inputs with the same name get ``-2``, ``-3``..."""
    seen: dict[str, int] = {}
    names = []
    for p in paths:
        base = track_name(p)
        count = seen.get(base.lower(), 0) + 1
        seen[base.lower()] = count
        names.append(base if count == 1 else f"{base}-{count}")
    return names
