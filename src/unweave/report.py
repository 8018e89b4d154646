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

import numpy as np

from unweave.atomic import write_text

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0} td,th{padding:.2rem .6rem;border:1px solid #ddd}
th{background:#f4f4f4;text-align:left}
.player{display:flex;align-items:center;gap:1rem;margin:.3rem 0}
.player span{min-width:10rem} .note{color:#555}
figure{display:inline-block;margin:.4rem} figure img{width:28rem;border:1px solid #ccc}
figcaption{font-size:.85rem;color:#444}
"""


@dataclass
class Section:
    """A block of the page: a title, audio players ``(label, path)``, an optional table."""

    title: str
    players: list[tuple[str, Path]] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)  # first row is the header
    note: str = ""
    images: list[tuple[str, Path]] = field(default_factory=list)  # (caption, PNG file)
    links: list[tuple[str, Path]] = field(default_factory=list)  # (text, page)
    svg: str = ""  # a figure made here (never user text unescaped)


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
        for caption, path in s.images:
            rel = html.escape(quote(Path(os.path.relpath(path, base)).as_posix()))
            parts.append(f'<figure><img src="{rel}" alt="{html.escape(caption)}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        if s.links:
            items = "".join(
                f'<li><a href="{html.escape(quote(Path(os.path.relpath(p, base)).as_posix()))}">'
                f"{html.escape(text)}</a></li>" for text, p in s.links)
            parts.append(f"<ul>{items}</ul>")
        parts.append(s.svg)
        parts.append(_table(s.table))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_page(path: Path, title: str, sections: list[Section], intro: str = "") -> Path:
    """Write the page atomically to ``path``."""
    path = Path(path)
    return write_text(path, render_page(title, sections, path.parent, intro))


def _magnitude(audio: np.ndarray, height: int) -> np.ndarray:
    """``(height, frames)`` magnitude of the channel mean (bins averaged in groups)."""
    from unweave.spectral import STFTConfig, stft

    mag = np.abs(stft(np.asarray(audio, np.float32).mean(axis=0), STFTConfig(2048, 512)))
    bins = mag.shape[0] - 1
    edges = np.linspace(0, bins, height + 1).astype(int)
    return np.add.reduceat(mag[:bins], edges[:-1], axis=0) / np.diff(edges)[:, None]


def spectrogram_png(audio: np.ndarray, sample_rate: int, path: Path, width: int = 900,
                    height: int = 256, floor_db: float = 80.0) -> Path:
    """A spectrogram picture of ``audio`` ``(channels, samples)`` (channel mean, dB, low
    frequencies at the bottom), written atomically as PNG."""
    mag = _magnitude(audio, height)
    cols = np.linspace(0, mag.shape[1] - 1, min(width, mag.shape[1])).astype(int)
    db = 20 * np.log10(mag[:, cols] + 1e-9)
    return _save_png(np.clip((db - (db.max() - floor_db)) / floor_db, 0, 1)[::-1], path)


def mask_png(estimate: np.ndarray, mixture: np.ndarray, path: Path, width: int = 900,
             height: int = 256) -> Path:
    """The effective mask ``|estimate| / |mixture|`` (0 to 1) as a PNG, low frequencies at
    the bottom."""
    est, mix = _magnitude(estimate, height), _magnitude(mixture, height)
    n = min(est.shape[1], mix.shape[1])
    cols = np.linspace(0, n - 1, min(width, n)).astype(int)
    ratio = est[:, cols] / np.maximum(mix[:, cols], 1e-9 * max(mix.max(), 1e-12))
    return _save_png(np.clip(ratio, 0, 1)[::-1], path)


def _save_png(level: np.ndarray, path: Path) -> Path:
    """Values in [0, 1] ``(rows, cols)`` through a dark-to-bright colour map, atomically."""
    from PIL import Image

    from unweave.atomic import atomic_path

    anchors = np.array([[20, 12, 60], [90, 30, 120], [200, 60, 90], [250, 170, 60],
                        [252, 250, 190]], float)
    pos = level * (len(anchors) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(anchors) - 2)
    frac = (pos - lo)[..., None]
    rgb = (anchors[lo] * (1 - frac) + anchors[lo + 1] * frac).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, "RGB").save(tmp, format="PNG")
    return path


COLOURS = ["#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d68910"]


def distribution_svg(scores: dict[str, dict[str, list[float]]], unit: str = "SDR (dB)",
                     width: int = 640) -> str:
    """A strip plot: one row per source, one colour per method, a dot per track.

    ``scores[source][method]`` lists per-track values; every label is escaped.
    """
    values = [v for ms in scores.values() for vs in ms.values() for v in vs if np.isfinite(v)]
    if not values:
        return ""
    lo, hi = float(np.floor(min(values))), float(np.ceil(max(values)))
    hi = hi if hi > lo else lo + 1
    methods = list(dict.fromkeys(m for ms in scores.values() for m in ms))
    left, row_h, top = 130, 28, 30
    height = top + row_h * len(scores) + 40
    x = lambda v: left + (width - left - 20) * (v - lo) / (hi - lo)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height={height} '
           f'role="img" aria-label="score distributions">']
    for i, m in enumerate(methods):
        out.append(f'<circle cx="{left + 110 * i + 6}" cy="12" r="5" '
                   f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{left + 110 * i + 15}" y="16" '
                   f'font-size="12">{html.escape(m)}</text>')
    for r, (source, ms) in enumerate(scores.items()):
        y = top + row_h * r + row_h / 2
        out.append(f'<text x="{left - 8}" y="{y + 4}" font-size="12" text-anchor="end">'
                   f"{html.escape(source)}</text>")
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y}" y2="{y}" stroke="#eee"/>')
        for i, m in enumerate(methods):
            for v in ms.get(m, []):
                if np.isfinite(v):
                    out.append(f'<circle cx="{x(v):.1f}" cy="{y + (i - 1) * 5:.1f}" r="4" '
                               f'fill="{COLOURS[i % len(COLOURS)]}" fill-opacity="0.8"/>')
    axis_y = top + row_h * len(scores) + 10
    step = max(1.0, float(np.ceil((hi - lo) / 6)))
    for tick in np.arange(lo, hi + 0.5 * step, step):
        out.append(f'<text x="{x(tick):.1f}" y="{axis_y + 12}" font-size="11" '
                   f'text-anchor="middle">{tick:.0f}</text>')
    out.append(f'<text x="{(left + width) / 2}" y="{axis_y + 28}" font-size="12" '
               f'text-anchor="middle">{html.escape(unit)}</text></svg>')
    return "".join(out)
