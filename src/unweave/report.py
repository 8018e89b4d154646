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


#: Frequencies on the pictures' axis (Hz): log-spaced, from the lowest octaves up.
LOWEST_HZ = 30.0
TICKS_HZ = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]


def _log_magnitude(audio: np.ndarray, sample_rate: int, rows: int = 256, columns: int = 900
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, frames)`` magnitude of the channel mean on a log-frequency grid from
    ``LOWEST_HZ`` to Nyquist (linear interpolation between STFT bins; frames averaged down to
    at most ``columns``), and the grid's frequencies in Hz."""
    from unweave.spectral import STFTConfig, stft

    n_fft = 2048 if sample_rate > 24000 else 1024
    mag = np.abs(stft(np.asarray(audio, np.float32).mean(axis=0), STFTConfig(n_fft, n_fft // 4)))
    if mag.shape[1] > columns:  # average groups of frames: one column each
        edges = np.linspace(0, mag.shape[1], columns + 1).astype(int)
        mag = np.add.reduceat(mag, edges[:-1], axis=1) / np.diff(edges)[None]
    bin_hz = sample_rate / n_fft
    freqs = np.geomspace(min(LOWEST_HZ, sample_rate / 4), sample_rate / 2, rows)
    position = freqs / bin_hz
    lo = np.clip(np.floor(position).astype(int), 0, mag.shape[0] - 2)
    frac = (position - lo)[:, None]
    return mag[lo] * (1 - frac) + mag[lo + 1] * frac, freqs


def _picture(values: np.ndarray, freqs: np.ndarray, seconds: float, path: Path,
             colour_label: str, limits: tuple[float, float], title: str = "") -> Path:
    """``values`` ``(rows, columns)`` on a log-frequency axis with Hz ticks, time in seconds
    and a colour bar, written atomically as PNG (matplotlib, imported only here)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from unweave.atomic import atomic_path

    fig = Figure(figsize=(9, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    lo_hz, hi_hz = np.log10(freqs[0]), np.log10(freqs[-1])
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="magma", vmin=limits[0],
                      vmax=limits[1], extent=(0, seconds, lo_hz, hi_hz), interpolation="nearest")
    ticks = [f for f in TICKS_HZ if freqs[0] <= f <= freqs[-1]]
    ax.set_yticks(np.log10(ticks), [f"{f // 1000}k" if f >= 1000 else str(f) for f in ticks])
    ax.set_ylabel("frequency (Hz)")
    ax.set_xlabel("time (s)")
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label=colour_label, pad=0.01)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def spectrogram_png(audio: np.ndarray, sample_rate: int, path: Path, floor_db: float = 80.0,
                    title: str = "") -> Path:
    """A spectrogram picture of ``audio`` ``(channels, samples)`` (channel mean, dB relative
    to its loudest cell down to ``-floor_db``, log-frequency axis), written atomically."""
    mag, freqs = _log_magnitude(audio, sample_rate)
    db = 20 * np.log10(mag + 1e-9)
    db -= db.max()
    return _picture(db, freqs, audio.shape[-1] / sample_rate, path, "level (dB)",
                    (-floor_db, 0.0), title)


def mask_png(estimate: np.ndarray, mixture: np.ndarray, path: Path, sample_rate: int = 44100,
             title: str = "") -> Path:
    """The effective mask ``|estimate| / |mixture|`` (0 to 1) as a picture with the same axes
    as the spectrograms."""
    est, freqs = _log_magnitude(estimate, sample_rate)
    mix, _ = _log_magnitude(mixture, sample_rate)
    n = min(est.shape[1], mix.shape[1])
    ratio = est[:, :n] / np.maximum(mix[:, :n], 1e-9 * max(mix.max(), 1e-12))
    return _picture(np.clip(ratio, 0, 1), freqs, estimate.shape[-1] / sample_rate, path,
                    "mask (0 to 1)", (0.0, 1.0), title)


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
