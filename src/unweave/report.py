"""Static HTML pages that list separated sources with audio players and score tables.

Every name shown is HTML-escaped; pages reference only files beside them (relative links),
load no external scripts, fonts or styles, and open offline.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from unweave.atomic import write_text

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0} td,th{padding:.2rem .6rem;border:1px solid #ddd}
th{background:#f4f4f4;text-align:left}
.player{display:flex;align-items:center;gap:1rem;margin:.3rem 0}
.player span{min-width:10rem} .note{color:#555}
"""


@dataclass
class Section:
    """A block of the page: a title, audio players ``(label, path)``, an optional table."""

    title: str
    players: list[tuple[str, Path]] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)  # first row is the header
    note: str = ""


def _table(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_page(title: str, sections: list[Section], base: Path, intro: str = "") -> str:
    """The HTML text of a page saved in folder ``base`` (audio links are made relative)."""
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if intro:
        parts.append(f"<p class=note>{html.escape(intro)}</p>")
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.note:
            parts.append(f"<p class=note>{html.escape(s.note)}</p>")
        for label, path in s.players:
            rel = quote(Path(os.path.relpath(path, base)).as_posix())
            parts.append(f'<div class=player><span>{html.escape(label)}</span>'
                         f'<audio controls preload=none src="{html.escape(rel)}"></audio></div>')
        parts.append(_table(s.table))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_page(path: Path, title: str, sections: list[Section], intro: str = "") -> Path:
    """Write the page atomically to ``path``."""
    path = Path(path)
    return write_text(path, render_page(title, sections, path.parent, intro))
