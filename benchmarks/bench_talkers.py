"""Two talkers from one microphone (issue 15): SI-SDR improvement (best permutation) of
`talkers` (Conv-TasNet), the speech DRNN of Huang et al., unsupervised NMF and the IBM / IRM
oracles, on speakers never trained on; a 90-second conversation with pauses and overlaps
through the command; speed.

Test mixtures, 16 kHz mono, each talker's level within ±5 dB of the other, cut to the shorter
utterance ("min" mixtures, as wsj0-2mix):
- speechocean762 *test* speakers: 100 pairs of different speakers;
- SiSEC 2011 dev1 (4 talkers, 10 s, another corpus): the 6 pairs;
- CMU ARCTIC samples (2 speakers x 3 sentences): the 9 cross-speaker pairs.

Run: .venv/bin/python benchmarks/bench_talkers.py CORPORA [TALKERS_MODEL] [DRNN_MODEL]
     .venv/bin/python benchmarks/bench_talkers.py CORPORA [TALKERS_MODEL] --validation
     (conversations of the model's validation speakers, with and without tracing)
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DATA, machine

from unweave.audio import read_audio, resample
from unweave.data.index import index_recordings
from unweave.methods import get_method
from unweave.metrics.si_sdr import si_sdr

RATE = 16000


def _mix(a: np.ndarray, b: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    n = min(a.shape[-1], b.shape[-1])
    a, b = a[:, :n] / np.sqrt(np.mean(a[:, :n] ** 2)), b[:, :n] / np.sqrt(np.mean(b[:, :n] ** 2))
    gain = 10 ** (rng.uniform(-5, 5) / 20)
    sources = np.stack([a * gain, b]).astype(np.float32)
    return sources * (0.1 / np.abs(sources.sum(0)).max()), None


def _mono16(rec) -> np.ndarray:
    return resample(rec.read(0, rec.frames).mean(0, keepdims=True), rec.sample_rate, RATE)


def _speaker_pairs(recordings, count: int, rng) -> list[np.ndarray]:
    """``count`` mixtures ``(2, 1, samples)`` at 16 kHz, each of one utterance of two different
    speakers of ``recordings``, drawn with ``rng``."""
    by_speaker: dict[str, list] = {}
    for r in recordings:
        by_speaker.setdefault(r.group, []).append(r)
    speakers = sorted(by_speaker)
    pairs = []
    for _ in range(count):
        i, j = rng.choice(len(speakers), 2, replace=False)
        a = by_speaker[speakers[i]][int(rng.integers(len(by_speaker[speakers[i]])))]
        b = by_speaker[speakers[j]][int(rng.integers(len(by_speaker[speakers[j]])))]
        pairs.append(_mix(_mono16(a), _mono16(b), rng)[0])
    return pairs


def test_sets(corpora: Path, pairs: int = 100, seed: int = 0) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    ocean = _speaker_pairs(index_recordings([corpora / "speechocean762" / "test"]), pairs, rng)
    sisec = [read_audio(f)[0][:1] for f in sorted((DATA / "sisec2011_speech_sources")
                                                   .glob("*.wav"))]
    sisec = [_mix(a, b, rng)[0] for a, b in itertools.combinations(sisec, 2)]
    arctic = sorted((DATA / "cmu_arctic_samples").glob("*.wav"))
    groups: dict[str, list] = {}
    for f in arctic:
        groups.setdefault(f.name.split("_")[3], []).append(read_audio(f)[0][:1])
    a_utts, b_utts = list(groups.values())[:2]
    arctic = [_mix(a, b, rng)[0] for a in a_utts for b in b_utts]
    return {"speechocean762 test (100 pairs)": ocean, "SiSEC 2011 talkers (6 pairs)": sisec,
            "CMU ARCTIC (9 pairs)": arctic}


def si_sdri(sources: np.ndarray, estimates: list[np.ndarray]) -> float:
    """Mean SI-SDR improvement over the two talkers, the better of the two assignments."""
    mix = sources.sum(0)
    base = si_sdr(sources, np.stack([mix, mix])).si_sdr
    best = max(np.mean(si_sdr(sources, np.stack(p)).si_sdr - base)
               for p in itertools.permutations(estimates))
    return float(best)


def quality_table(sets, talkers_model: str | None, drnn_model: str | None) -> list[str]:
    chosen = {"model": talkers_model} if talkers_model else {}
    methods = {"talkers (Conv-TasNet; 3 passes, the default)": ("talkers", chosen),
               "talkers (Conv-TasNet; one pass, `--passes 1`)": ("talkers",
                                                                {**chosen, "passes": 1})}
    if drnn_model:
        methods["speech DRNN (Huang et al., discriminative)"] = ("talkers",
                                                                 {"model": drnn_model})
    methods.update({"nmf, unsupervised (2 components)": ("nmf", {"n_sources": 2,
                                                                 "n_components": 2}),
                    "ideal binary mask (oracle)": ("ibm", {}),
                    "ideal ratio mask (oracle)": ("irm", {})})
    lines = ["SI-SDR improvement (dB, best permutation, mean over mixtures); 16 kHz mono", "",
             "| method | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for label, (name, options) in methods.items():
        separator = get_method(name)(**options)
        cells = []
        for mixtures in sets.values():
            values = []
            for sources in mixtures:
                mix = sources.sum(0)
                extra = {"references": {"a": sources[0], "b": sources[1]}} \
                    if name in ("ibm", "irm") else {}
                result = separator(mix, RATE, **extra)
                values.append(si_sdri(sources, [result[n] for n in result.names][:2]))
            cells.append(f"{np.mean(values):.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def conversation(corpora: Path, seconds: float = 90.0, seed: int = 1, part: str = "test",
                 pair: tuple[str, str] | None = None):
    """Two speakers of speechocean762's ``part`` (the test set's last two, unless ``pair``
    names them) taking turns, with pauses and overlapped turn ends: the mixture, each
    talker's track, and the utterances (talker, start, stop)."""
    rng = np.random.default_rng(seed)
    speech = index_recordings([corpora / "speechocean762" / part])
    by_speaker: dict[str, list] = {}
    for r in speech:
        by_speaker.setdefault(r.group, []).append(r)
    two = list(pair) if pair else sorted(by_speaker)[-2:]
    n = int(seconds * RATE)
    tracks = np.zeros((2, 1, n), np.float32)
    turns, t, who = [], int(0.5 * RATE), 0
    while True:
        rec = by_speaker[two[who]][int(rng.integers(len(by_speaker[two[who]])))]
        x = _mono16(rec)
        x = 0.05 * x / np.sqrt(np.mean(x**2)) * 10 ** (rng.uniform(-2.5, 2.5) / 20)
        if t + x.shape[1] > n:
            break
        tracks[who, :, t : t + x.shape[1]] += x
        turns.append((who, t, t + x.shape[1]))
        # Next turn: after a pause (up to 1 s) or overlapping the end (up to 1 s).
        t += x.shape[1] + int(rng.uniform(-1.0, 1.0) * RATE)
        t = max(t, turns[-1][1] + RATE // 2)
        who = 1 - who
    return tracks.sum(0), tracks, turns


def turn_score(tracks: np.ndarray, est: list[np.ndarray], turns) -> tuple[float, int]:
    """Whole-file SI-SDRi (dB, the best assignment of outputs to talkers) and how many
    utterances hold more of their talker on that talker's output than on the other."""
    whole = si_sdri(tracks, est)
    order = max(itertools.permutations(range(2)), key=lambda p: sum(
        si_sdr(tracks[j][None], est[p[j]][None]).si_sdr[0] for j in range(2)))
    consistent = 0
    for who, a, b in turns:
        ref = tracks[who][0, a:b]
        consistent += np.dot(est[order[who]][0, a:b], ref) > np.dot(est[order[1 - who]][0, a:b],
                                                                       ref)
    return whole, int(consistent)


def validation_conversations(corpora: Path, talkers_model: str | None, count: int = 8
                             ) -> list[str]:
    """Conversations of the model's own validation speakers (held out of its training, from
    speechocean762 ``train/``), separated with the defaults and with some refinements off:
    how those settings were chosen, without the test speakers."""
    from unweave.methods.neural import TalkersSeparator, bundled_path
    from unweave.nn import checkpoint

    path = talkers_model or str(bundled_path("talkers"))
    speakers = sorted(checkpoint.load(path)["training"]["split"]["validation"])
    rng = np.random.default_rng(5)
    settings = {"the defaults": {}, "`--no-trace`": {"trace": False},
                "`--no-remask`": {"remask": False},
                "`--no-full-band --no-remask` (the eighth session's defaults)":
                    {"full_band": False, "remask": False}}
    rows: dict[str, list] = {label: [] for label in settings}
    for k in range(count):
        a, b = rng.choice(len(speakers), 2, replace=False)
        mixture, tracks, turns = conversation(corpora, 90.0, 100 + k, "train",
                                              (speakers[a], speakers[b]))
        for label, options in settings.items():
            out = TalkersSeparator(model=path, **options).separate(mixture, RATE).sources
            rows[label].append((*turn_score(tracks, [out[n] for n in out], turns),
                                len(turns)))
    lines = [f"{count} conversations of 90 s between validation speakers of `{Path(path).name}`"
             " (seeds 100-107)", "", "| setting | whole-file SI-SDRi (dB) | utterances on their "
             "talker's output |", "|---|---|---|"]
    for label, r in rows.items():
        lines.append(f"| {label} | {np.mean([x[0] for x in r]):.2f} | "
                     f"{sum(x[1] for x in r)} of {sum(x[2] for x in r)} |")
    return lines


def validation_pairs(corpora: Path, talkers_model: str | None, count: int = 40) -> list[str]:
    """Pairs of the model's own validation speakers at 16 kHz, mixed as the test pairs are
    (``_mix``, seed 5), separated with the defaults and with the refinements off: how
    ``full_band`` and ``remask`` were chosen, without the test speakers."""
    from unweave.methods.neural import TalkersSeparator, bundled_path
    from unweave.nn import checkpoint

    path = talkers_model or str(bundled_path("talkers"))
    held = set(checkpoint.load(path)["training"]["split"]["validation"])
    pairs = _speaker_pairs([r for r in index_recordings([corpora / "speechocean762" / "train"])
                            if r.group in held], count, np.random.default_rng(5))
    settings = {"`--no-full-band --no-remask`": {"full_band": False, "remask": False},
                "`--no-remask`": {"remask": False}, "the defaults": {}}
    lines = [f"{count} pairs of validation speakers of `{Path(path).name}` at 16 kHz (seed 5); "
             "SI-SDR improvement (dB)", "", "| setting | SI-SDRi |", "|---|---|"]
    for label, options in settings.items():
        separator = TalkersSeparator(model=path, **options)
        values = []
        for sources in pairs:
            result = separator(sources.sum(0), RATE)
            values.append(si_sdri(sources, [result[n] for n in result.names][:2]))
        lines.append(f"| {label} | {np.mean(values):.2f} |")
    return lines


def conversation_table(corpora: Path, talkers_model: str | None) -> list[str]:
    import soundfile as sf

    mixture, tracks, turns = conversation(corpora)
    flags = ["--model", talkers_model] if talkers_model else []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conversation.wav"
        sf.write(path, mixture.T, RATE, subtype="FLOAT")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "unweave", "separate", str(path), "-m", "talkers",
                        *flags, "-o", str(Path(tmp) / "out"), "-q"], check=True)
        seconds = time.perf_counter() - start
        est = [sf.read(Path(tmp) / "out" / "conversation" / f"talker_{k}.wav",
                       dtype="float32")[0][None] for k in (1, 2)]
    whole, consistent = turn_score(tracks, est, turns)
    # Which output holds which talker over the whole file, then each utterance on that output.
    order = max(itertools.permutations(range(2)), key=lambda p: sum(
        si_sdr(tracks[j][None], est[p[j]][None]).si_sdr[0] for j in range(2)))
    # Per utterance: SI-SDR on the talker's own output. (Not an improvement: over most of a
    # turn the talker is alone, and there the mixture is the reference itself.)
    per_utt = [si_sdr(tracks[who][None, :, a:b], est[order[who]][None, :, a:b]).si_sdr[0]
               for who, a, b in turns]
    duration = mixture.shape[-1] / RATE
    return [f"A {duration:.0f} s conversation of two speechocean762 test speakers: "
            f"{len(turns)} turns with pauses and overlaps up to 1 s, separated by `unweave "
            "separate -m talkers` (whole file through the command)", "",
            "| whole-file SI-SDRi (dB) | mean per-utterance SI-SDR on the talker's own output "
            "(dB) | utterances on their talker's output | seconds | real-time factor |",
            "|---|---|---|---|---|",
            f"| {whole:.2f} | {np.mean(per_utt):.2f} | {consistent} of {len(turns)} | "
            f"{seconds:.1f} | {seconds / duration:.3f} |"]


def main(corpora: str, talkers_model: str | None = None, drnn_model: str | None = None
         ) -> list[str]:
    corpora_path = Path(corpora).expanduser()
    sets = test_sets(corpora_path)
    return [f"Machine: {machine()}", ""] + quality_table(sets, talkers_model, drnn_model) + \
        [""] + conversation_table(corpora_path, talkers_model)


if __name__ == "__main__":
    if "--validation" in sys.argv:  # CORPORA [TALKERS_MODEL] --validation [--pairs]
        args = [a for a in sys.argv[1:] if a not in ("--validation", "--pairs")] + [None]
        table = validation_pairs if "--pairs" in sys.argv else validation_conversations
        print("\n".join(table(Path(args[0]).expanduser(), args[1])))
    else:
        args = sys.argv[1:] + [None, None]
        print("\n".join(main(args[0], args[1], args[2])))
