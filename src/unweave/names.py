"""Safe file and folder names from untrusted text: input file names, stem titles in
``.stem.mp4`` metadata, MIDI track names, user-given source names.

A safe name is one path component: no separators, no control characters, not ``.`` or ``..``,
at most :data:`MAX_NAME_BYTES` bytes of UTF-8 (file systems allow 255; the rest is left for
extensions and temporary-file prefixes). Unicode letters are kept.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 200


def safe_name(name: str, fallback: str = "track") -> str:
    """``name`` as a single safe path component (``fallback`` when nothing is left)."""
    name = unicodedata.normalize("NFC", str(name))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[/\\:]+", "_", name).strip().strip(".").strip()
    encoded = name.encode("utf-8")[:MAX_NAME_BYTES]
    name = encoded.decode("utf-8", errors="ignore").strip()
    return name or fallback


def unique_names(names: list[str], reserved: tuple[str, ...] = ()) -> list[str]:
    """The same names made distinct, ignoring case: a repeat gets ``-2``, ``-3``... (the first
    such name that no other entry has), so no two outputs land on one file. ``reserved``
    names (files of the caller's own, like a report's ``index``) are never given out."""
    taken = {n.lower() for n in [*reserved, *names]}
    used = {n.lower() for n in reserved}
    out = []
    for name in names:
        candidate, count = name, 1
        while candidate.lower() in used or (count > 1 and candidate.lower() in taken):
            count += 1
            candidate = f"{name}-{count}"
        used.add(candidate.lower())
        out.append(candidate)
    return out


def file_names(names: list[str], fallback: str, reserved: tuple[str, ...] = ()) -> list[str]:
    """Names from untrusted text as file names: each safe (:func:`safe_name`), all distinct
    (:func:`unique_names`), none of ``reserved``."""
    return unique_names([safe_name(n, fallback) for n in names], reserved)
