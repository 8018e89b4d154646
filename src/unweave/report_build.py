"""``unweave report RESULTS_DIR``: pages to look at and listen to what ``separate`` wrote.

For each track folder: players for the input mixture (found through the batch manifest) and
every estimate, their spectrograms, and with ``--reference`` the scores (BSS Eval v4 medians)
and the mixture's score as the lower bound. An index lists the tracks, best-scored first.
Pages link only to files on disk (relative paths): no scripts, no network.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from unweave.audio import AUDIO_FILE_SUFFIXES, read_audio
from unweave.batch import manifest_path
from unweave.errors import UnweaveError, describe
from unweave.names import file_names
from unweave.report import Section, distribution_svg, mask_png, spectrogram_png, write_page


def _tracks(results: Path) -> list[Path]:
    return sorted(p for p in results.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and p.name != "report" and any(f.suffix.lower() in AUDIO_FILE_SUFFIXES
                                                 for f in p.iterdir()))


def build_report(results: Path, reference: Path | None = None, force: bool = False) -> Path:
    """Write ``results/report/index.html`` and one page per track; return the index."""
    results = Path(results)
    if not results.is_dir():
        raise UnweaveError(f"{results}: no such results folder")
    tracks = _tracks(results)
    if not tracks:
        raise UnweaveError(f"{results}: holds no separated tracks")
    out = results / "report"
    if out.exists():
        if not force:
            raise UnweaveError(f"{out}: exists (use --force to overwrite)")
        shutil.rmtree(out)
    (out / "img").mkdir(parents=True)
    index_rows = []
    distributions: dict[str, dict[str, list[float]]] = {}
    # Page and image-folder names: safe, distinct, and never the index's own.
    page_names = file_names([t.name for t in tracks], "track", reserved=("index", "img"))
    for track, page_name in zip(tracks, page_names):
        try:
            name, score, page, per_method = _track_page(track, out, reference, page_name)
        except (UnweaveError, OSError) as exc:  # one unreadable track does not stop the rest
            name, score, per_method = track.name, math.nan, {}
            page = write_page(out / f"{page_name}.html", f"unweave report: {name}",
                              [Section("Not shown", note=describe(exc))])
        index_rows.append((name, score, page))
        for method, medians in per_method.items():
            for source, value in medians.items():
                distributions.setdefault(source, {}).setdefault(method, []).append(value)
    index_rows.sort(key=lambda r: -r[1] if not math.isnan(r[1]) else math.inf)
    header = ["track", "mean SDR over sources (dB)"]
    table = [header] + [[name, "" if math.isnan(score) else f"{score:.2f}"]
                        for name, score, _ in index_rows]
    links = [(name, page) for name, _, page in index_rows]
    sections = [Section("Tracks (best first when scored)", links=links, table=table)]
    if distributions:
        sections.append(Section("Score distributions: one dot per track", svg=distribution_svg(
            distributions), note="BSS Eval v4 SDR (median over 1 s windows) of the estimates "
            "and of the baselines computed from the references"))
    return write_page(out / "index.html", f"unweave report: {results.name}", sections)


def _reference_files(reference: Path | None, name: str) -> dict[str, Path]:
    """The true sources' files of track ``name`` by lower-case source name (a folder of
    ``<source>.<ext>``; none for a ``.stem.mp4``, whose sources are not separate files)."""
    if reference is None:
        return {}
    folder = reference / name if (reference / name).is_dir() else reference
    if not folder.is_dir():
        return {}
    return {f.stem.lower(): f for f in sorted(folder.iterdir())
            if f.is_file() and f.suffix.lower() in AUDIO_FILE_SUFFIXES
            and f.stem.lower() != "mixture"}


def _track_page(track: Path, out: Path, reference: Path | None, page_name: str
                ) -> tuple[str, float, Path, dict[str, dict[str, float]]]:
    name = track.name
    img_dir = out / "img" / page_name
    img_dir.mkdir(parents=True, exist_ok=True)
    sections = []
    mixture_file = None
    try:
        manifest = json.loads(manifest_path(track.parent, name).read_text())
        candidate = Path(manifest.get("input", ""))
        mixture_file = candidate if candidate.is_file() else None
    except (OSError, ValueError):
        pass
    mixture = None
    if mixture_file is not None:
        mixture, rate = read_audio(mixture_file)
        png = spectrogram_png(mixture, rate, img_dir / "mixture.png")
        sections.append(Section("Mixture", [("mixture", mixture_file)],
                                images=[("mixture spectrogram", png)]))
    stems = sorted(f for f in track.iterdir() if f.suffix.lower() in AUDIO_FILE_SUFFIXES)
    truth = _reference_files(reference, name)
    players, images = [], []
    image_names = file_names([f.stem for f in stems], "source", reserved=("mixture",))
    for stem, image_name in zip(stems, image_names):
        audio, rate = read_audio(stem)
        players.append((stem.stem, stem))
        if stem.stem.lower() in truth:  # the true source beside its estimate
            players.append((f"{stem.stem} (true source)", truth[stem.stem.lower()]))
        images.append((f"{stem.stem} spectrogram", spectrogram_png(
            audio, rate, img_dir / f"{image_name}.png")))
        if mixture is not None and mixture.shape == audio.shape:
            images.append((f"{stem.stem} mask (|estimate| / |mixture|)", mask_png(
                audio, mixture, img_dir / f"{image_name}.mask.png", rate)))
    sections.append(Section("Estimates", players, images=images))
    score = math.nan
    per_method: dict[str, dict[str, float]] = {}
    if reference is not None:
        from unweave.evaluation import TrackPair, evaluate_pair

        ref = reference / name if (reference / name).exists() else reference
        try:
            result = evaluate_pair(TrackPair(name, ref, track), "v4", 1.0, 1.0,
                                   ("mixture", "irm"))
            medians = result["estimate"].medians()
            base, oracle = result["mixture"].medians(), result["irm"].medians()
            rows = [["source", "SDR", "SIR", "SAR", "ISR", "mixture SDR", "irm SDR"]]
            for src, m in medians.items():
                rows.append([src] + [f"{m[k]:.2f}" for k in ("SDR", "SIR", "SAR", "ISR")]
                            + [f"{base[src]['SDR']:.2f}", f"{oracle[src]['SDR']:.2f}"])
            per_method = {key: {src: m["SDR"] for src, m in r.medians().items()}
                          for key, r in (("estimates", result["estimate"]),
                                         ("mixture", result["mixture"]),
                                         ("irm", result["irm"]))}
            sections.append(Section("Scores (BSS Eval v4, median over 1 s windows)",
                                    table=rows))
            score = sum(m["SDR"] for m in medians.values()) / len(medians)
        except UnweaveError as exc:
            sections.append(Section("Scores", note=f"not scored: {exc}"))
    page = write_page(out / f"{page_name}.html", f"unweave report: {name}", sections)
    return name, score, page, per_method
