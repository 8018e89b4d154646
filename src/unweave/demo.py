"""``unweave demo``: for each kind of problem, the method that does it best, beside its oracle
bound, on one page (the report's page builder: players, spectrograms, masks, scores).

- a real song (the MUSDB18 '80s Rock' excerpt of the shared data): vocals by the bundled
  ``unet``, drums by ``hpss``, each beside the ideal ratio mask; when the excerpt is not
  there, a synthesised song with centre extraction and HPSS;
- two microphones, four talkers: DUET;
- a cocktail party of three talkers in a room, three microphones: ILRMA;
- four stems of a real song (a MUSDB18 excerpt from the shared data) with the bundled network
  and its oracle bound;
- speech out of noise: a CMU ARCTIC sentence in a recorded exercise bike at 0 dB, the bundled
  causal network beside the ideal ratio mask;
- two talkers on one microphone (SiSEC 2011 voices): the bundled ``talkers`` network beside
  the ideal ratio mask.

Offline and deterministic. The talkers and rooms come from ``data`` (the shared data folder:
SiSEC 2011 speech and measured office impulse responses) when it is there; otherwise they are
synthesised (babbling harmonic "voices", and rooms with a direct path and a decaying tail).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from unweave.audio import write_audio
from unweave.errors import UnweaveError
from unweave.methods import get_method
from unweave.metrics import framewise_sdr
from unweave.report import Section, mask_png, spectrogram_png, write_page
from unweave.synth import synth_song

SAMPLE_RATE = 22050

#: (method, options, {estimate name: (reference sources summed)})
RUNS = [
    ("mixture", {}, {"voice": ("voice",), "keys": ("keys",), "drums": ("drums",)}),
    ("hpss", {"kernel": 17}, {"harmonic": ("voice", "keys"), "percussive": ("drums",)}),
    ("center", {}, {"center": ("voice",), "sides": ("keys", "drums")}),
    ("irm", {}, {"voice": ("voice",), "keys": ("keys",), "drums": ("drums",)}),
]


def _score(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(np.nanmedian(framewise_sdr(reference, estimate, SAMPLE_RATE)))


def _talkers(data: Path | None, n: int, rate: int = 16000, seconds: float = 8.0
             ) -> tuple[np.ndarray, str]:
    """``(n, samples)`` dry speech: SiSEC 2011 talkers if present, else synthetic babble."""
    folder = data / "sisec2011_speech_sources" if data else None
    if folder is not None and len(list(folder.glob("*.wav"))) >= n:
        from unweave.audio import read_audio

        signals = [read_audio(f)[0][0] for f in sorted(folder.glob("*.wav"))[:n]]
        length = min(min(len(x) for x in signals), int(seconds * rate))
        return np.stack([x[:length] for x in signals]).astype(np.float64), "SiSEC 2011 talkers"
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * rate)) / rate
    out = []
    for i in range(n):
        f0 = (110 + 45 * i) * (1 + 0.08 * np.sin(2 * np.pi * (0.7 + 0.2 * i) * t))
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voice = sum(np.sin(h * phase) / h for h in range(1, 15))
        syllables = (np.sin(2 * np.pi * (3 + 0.5 * i) * t + rng.uniform(0, 6)) > 0.3)
        out.append(voice * syllables)
    return np.stack(out), "synthetic talkers"


def _rooms(data: Path | None, n_sources: int, mics: list[int], rate: int = 16000
           ) -> tuple[np.ndarray, str]:
    """``(sources, mics, taps)`` impulse responses: measured (office) or synthetic."""
    from unweave.data.mixing import load_rirs

    folder = data / "rsmnmf_office_rirs_32ch" if data else None
    if folder is not None and (folder / "rir_source_5.wav").exists():
        files = [folder / f"rir_source_{i}.wav" for i in (1, 3, 5)[:n_sources]]
        return load_rirs(files, mics, rate), "measured office impulse responses"
    rng = np.random.default_rng(2)
    taps = int(0.15 * rate)
    decay = np.exp(-np.arange(taps) / (0.03 * rate))
    rirs = 0.05 * rng.standard_normal((n_sources, len(mics), taps)) * decay
    for j in range(n_sources):
        for m in range(len(mics)):
            rirs[j, m, 20 + 7 * ((j * 3 + m * 5) % 11)] += 1.0
    return rirs, "synthetic rooms"


def _mean_sdr_images(images: np.ndarray, estimates: list[np.ndarray], mic: int | None = None
                     ) -> tuple[list[float], list[float]]:
    """Per-source SDR of the estimates (best permutation) and of the mixture, BSS Eval v3."""
    import warnings

    from unweave.metrics import bss_eval_images

    sel = slice(None) if mic is None else slice(mic, mic + 1)
    ref = images[:, sel]
    est = np.stack([e[sel] for e in estimates])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = bss_eval_images(ref, est, compute_permutation=True).sdr[:, 0]
        base = bss_eval_images(ref, np.repeat(images.sum(0)[None, sel], len(ref), 0),
                               False).sdr[:, 0]
    return list(ours), list(base)


def _blind_section(out: Path, method: str, options: dict, mix: np.ndarray, images: np.ndarray,
                   title: str, note: str, mic: int | None = None) -> Section:
    """Separate ``mix`` ``(mics, samples)`` blindly, write the files, score against
    ``images`` (at ``mic``, or all microphones) and describe it as one page section."""
    scale = 0.9 / np.abs(mix).max()
    sep = get_method(method)(**options)(mix * scale, 16000)
    folder = out / method
    folder.mkdir()
    players = [(f"mixture ({mix.shape[0]} mics)",
                write_audio(folder / "mixture.wav", mix * scale, 16000))]
    players += [(k, write_audio(folder / f"{k}.wav", sep[k], 16000)) for k in sep.names]
    ours, base = _mean_sdr_images(images * scale, [sep[k] for k in sep.names], mic=mic)
    where = "" if mic is None else f" at mic {mic + 1}"
    table = [["", f"per-source SDR{where} (dB)"], [method, ", ".join(f"{v:.1f}" for v in ours)],
             ["mixture", ", ".join(f"{v:.1f}" for v in base)]]
    return Section(title, players, table, note=note)


def _array_demos(out: Path, data: Path | None) -> list[Section]:
    from unweave.data.mixing import anechoic, convolutive

    speech, what = _talkers(data, 4)
    gains = np.array([[1, 1, 1, 1], [0.7, 0.9, 1.1, 1.3]])
    delays = np.array([[0, 0, 0, 0], [-1.5, -0.5, 0.5, 1.5]])
    mix, images = anechoic(speech, gains, delays)
    duet = _blind_section(out, "duet", {"n_sources": 4}, mix, images,
                          "Two microphones, four talkers: DUET",
                          f"{what}, anechoic mixing (gains and sub-sample delays). "
                          "Rickard & Yilmaz, ICASSP 2002.")
    speech3, what = _talkers(data, 3)
    rirs, room = _rooms(data, 3, [0, 12, 24])
    _, images = convolutive(speech3, rirs)
    # Equal loudness of every talker at the first microphone, as in the usual benchmarks.
    level = np.sqrt(np.mean(images[:, 0] ** 2, axis=-1))
    mix, images = convolutive(speech3 / level[:, None], rirs)
    ilrma = _blind_section(out, "ilrma", {"n_iter": 60}, mix, images,
                           "A cocktail party in a room: ILRMA",
                           f"{what}, {room}. Kitamura et al., IEEE/ACM TASLP 2016.", mic=0)
    return [duet, ilrma]


MUSIC = "musdb18_7s_80s_rock_museval/decoded"
#: (title, method, options, {estimate: reference stems summed}) on the real song.
MUSIC_RUNS = [
    ("Vocals against the rest: the bundled U-Net", "unet", {},
     {"vocals": ("vocals",), "accompaniment": ("drums", "bass", "other")}),
    ("Drums against the rest: harmonic/percussive separation", "hpss", {},
     {"percussive": ("drums",), "harmonic": ("vocals", "bass", "other")}),
]


def _pictures(folder: Path, mixture: np.ndarray, estimates: dict[str, np.ndarray], rate: int
              ) -> list[tuple[str, Path]]:
    """A spectrogram and a mask picture per estimate."""
    images = []
    for name, audio in estimates.items():
        images.append((f"{name}: spectrogram", spectrogram_png(audio, rate,
                                                                 folder / f"{name}.png")))
        images.append((f"{name}: mask |estimate| / |mixture|",
                       mask_png(audio, mixture, folder / f"{name}.mask.png", rate)))
    return images


def _music_demos(out: Path, data: Path | None) -> list[Section]:
    """The best method per music problem on the real song, each beside the ideal ratio mask;
    nothing when the song is not here (the synthesised song stands in)."""
    from unweave.audio import read_audio

    folder = data / MUSIC if data else None
    if folder is None or not (folder / "vocals.flac").exists():
        return []
    stems = {n: read_audio(folder / f"{n}.flac")[0] for n in ("vocals", "drums", "bass",
                                                              "other")}
    mixture = sum(stems.values())
    rate = 44100
    (out / "song").mkdir()
    sections = [Section("The song: MUSDB18 '80s Rock' (7 s, stereo 44.1 kHz)",
                        [("mixture", write_audio(out / "song" / "mixture.wav", mixture, rate))],
                        images=[("mixture: spectrogram",
                                 spectrogram_png(mixture, rate, out / "song" / "mixture.png"))],
                        note="A MUSDB18 test song: never trained on.")]
    for title, method, options, targets in MUSIC_RUNS:
        refs = {k: sum(stems[s] for s in parts) for k, parts in targets.items()}
        try:
            ours = get_method(method)(**options)(mixture, rate)
        except UnweaveError:  # (no bundled model in this install)
            continue
        oracle = get_method("irm")()(mixture, rate, references=refs)
        sub = out / method
        sub.mkdir()
        players, table = [], [["source", "compared with", method, "irm (upper bound)",
                               "mixture"]]
        for name in refs:
            players.append((f"{method}: {name}", write_audio(sub / f"{name}.wav", ours[name],
                                                             rate)))
            players.append((f"irm: {name}", write_audio(sub / f"irm_{name}.wav", oracle[name],
                                                        rate)))
            scores = [np.nanmedian(framewise_sdr(refs[name], x, rate))
                      for x in (ours[name], oracle[name], mixture)]
            table.append([name, " + ".join(targets[name])] + [f"{v:.2f}" for v in scores])
        images = _pictures(sub, mixture, {n: ours[n] for n in refs}, rate)
        sections.append(Section(title, players, table, images=images,
                                note=f"{get_method(method).reference}. SDR in dB."))
    return sections


def _talkers_demo(out: Path, data: Path | None) -> list[Section]:
    """Two SiSEC 2011 voices on one microphone: the bundled ``talkers`` network beside the
    ideal ratio mask (SI-SDR, best assignment of outputs to talkers)."""
    from unweave.evaluation import best_assignment
    from unweave.methods.neural import bundled_path
    from unweave.metrics.si_sdr import si_sdr

    model = bundled_path("talkers")
    folder = data / "sisec2011_speech_sources" if data else None
    if folder is None or model is None or not model.exists() or \
            not (folder / "dev1_male4_src_2.wav").exists():
        return []
    from unweave.audio import read_audio

    a = read_audio(folder / "dev1_female4_src_1.wav")[0]
    b = read_audio(folder / "dev1_male4_src_2.wav")[0]
    refs = {"talker_1": a, "talker_2": b}
    mixture = a + b
    rate = 16000
    sub = out / "talkers"
    sub.mkdir()
    ours = get_method("talkers")()(mixture, rate)
    ours = best_assignment(refs, {n: ours[n] for n in ours.names})
    oracle = get_method("irm")()(mixture, rate, references=refs)
    players = [("mixture (one microphone)", write_audio(sub / "mixture.wav", mixture, rate))]
    table = [["talker", "talkers", "irm (upper bound)", "mixture"]]
    for name in refs:
        players.append((f"talkers: {name}", write_audio(sub / f"{name}.wav", ours[name], rate)))
        players.append((f"irm: {name}", write_audio(sub / f"irm_{name}.wav", oracle[name],
                                                    rate)))
        table.append([name] + [f"{si_sdr(refs[name][None], x[None]).si_sdr[0]:.2f}"
                               for x in (ours[name], oracle[name], mixture)])
    images = _pictures(sub, mixture, {n: ours[n] for n in refs}, rate)
    return [Section("Two talkers, one microphone: the bundled Conv-TasNet", players, table,
                    images=images, note="SiSEC 2011 female and male voices (another corpus "
                    "than the training speech). SI-SDR in dB. "
                    + get_method("talkers").reference)]


def _stems_demo(out: Path, data: Path | None) -> list[Section]:
    """Four stems of MUSDB18 '80s Rock' (7 s, stereo 44.1 kHz) by the bundled ``stems``
    network beside the ideal ratio mask; nothing when the song or the model is not here."""
    from unweave.audio import read_audio
    from unweave.methods.neural import bundled_path

    folder = data / "musdb18_7s_80s_rock_museval" / "decoded" if data else None
    model = bundled_path("stems")
    if folder is None or not (folder / "vocals.flac").exists() or model is None or \
            not model.exists():
        return []
    names = ("vocals", "drums", "bass", "other")
    stems = {n: read_audio(folder / f"{n}.flac")[0] for n in names}
    mixture = sum(stems.values())
    rate = 44100
    sections = []
    for method in ("stems", "irm"):
        extra = {"references": stems} if method == "irm" else {}
        result = get_method(method)()(mixture, rate, **extra)
        sub = out / f"{method}_4stems"
        sub.mkdir()
        players = [("mixture", write_audio(sub / "mixture.wav", mixture, rate))] \
            if method == "stems" else []
        table = [["stem", "SDR (dB)", "mixture's SDR (dB)"]]
        for n in names:
            players.append((n, write_audio(sub / f"{n}.wav", result[n], rate)))
            base = np.nanmedian(framewise_sdr(stems[n], mixture, rate))
            est = np.nanmedian(framewise_sdr(stems[n], result[n], rate))
            table.append([n, f"{est:.2f}", f"{base:.2f}"])
        title = "Four stems of a song: the bundled network" if method == "stems" else \
            "Four stems: the ideal ratio mask (upper bound)"
        images = _pictures(sub, mixture, {n: result[n] for n in names}, rate) \
            if method == "stems" else []
        note = "MUSDB18 '80s Rock' (7 s, stereo 44.1 kHz), a test song: never trained on. "
        sections.append(Section(title, players, table, images=images,
                                note=note + get_method(method).reference))
    return sections


def _speech_demo(out: Path, data: Path | None) -> list[Section]:
    """A sentence in real noise at 0 dB SNR, enhanced by the bundled ``enhance`` network and by
    the ideal ratio mask; nothing when the recordings or the model are not here."""
    from unweave.audio import read_audio, resample
    from unweave.data.augment import noise_for_snr
    from unweave.methods.neural import bundled_path
    from unweave.metrics.si_sdr import si_sdr

    model = bundled_path("enhance")
    speech_dir = data / "cmu_arctic_samples" if data else None
    noise_file = data / "speech_commands_noise" / "exercise_bike.wav" if data else None
    if speech_dir is None or not noise_file.exists() or model is None or not model.exists():
        return []
    files = sorted(speech_dir.rglob("*.wav"))
    if not files:
        return []
    rate = 16000
    speech, r = read_audio(files[0])
    speech = resample(speech[:1], r, rate)
    noise, r = read_audio(noise_file)
    noise = resample(noise[:1], r, rate)[:, : speech.shape[1]]
    noise = noise_for_snr(speech, noise, 0.0)
    noisy = speech + noise
    sub = out / "enhance"
    sub.mkdir()
    players = [("noisy (0 dB SNR)", write_audio(sub / "noisy.wav", noisy, rate)),
               ("clean speech", write_audio(sub / "clean.wav", speech, rate))]
    table = [["", "SI-SDR of the speech (dB)"],
             ["noisy", f"{si_sdr(speech[None], noisy[None]).si_sdr[0]:.2f}"]]
    images = []
    for method in ("enhance", "irm"):
        extra = {"references": {"speech": speech, "noise": noise}} if method == "irm" else {}
        est = get_method(method)()(noisy, rate, **extra)["speech"]
        players.append((f"{method}: speech", write_audio(sub / f"{method}.wav", est, rate)))
        table.append([method, f"{si_sdr(speech[None], est[None]).si_sdr[0]:.2f}"])
        if method == "enhance":
            images = [("noisy: spectrogram", spectrogram_png(noisy, rate, sub / "noisy.png"))]
            images += _pictures(sub, noisy, {"speech": est}, rate)
    return [Section("Speech out of noise: the bundled causal network", players, table,
                    images=images,
                    note="CMU ARCTIC sentence, exercise-bike noise (a noise type the network "
                    "was not trained on). " + get_method("enhance").reference)]


def run_demo(out: Path, force: bool = False, quiet: bool = False,
             data: Path | None = None) -> Path:
    """Write the demo into folder ``out``; return the page's path."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UnweaveError(f"{out}: exists (use --force to overwrite)")
        if not (out / "index.html").exists():
            raise UnweaveError(f"{out}: not a demo folder; refusing to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    data = data if data is not None and Path(data).is_dir() else None
    sections = _music_demos(out, data)
    if not quiet and sections:
        print("demo: the real song done")
    if not sections:
        sections = _synthesised_song(out, quiet)
    sections += _array_demos(out, data)
    if not quiet:
        print("demo: duet and ilrma done")
    sections += _stems_demo(out, data)
    sections += _speech_demo(out, data)
    sections += _talkers_demo(out, data)
    return write_page(out / "index.html", "unweave demo", sections,
                      intro="For each kind of problem, the method that does it best beside its "
                      "oracle bound. SDR: median over 1 s windows of the energy ratio (BSS Eval "
                      "v4 image SDR); higher is better.")


def _synthesised_song(out: Path, quiet: bool) -> list[Section]:
    """The fallback without the shared data: a synthesised song, karaoke and HPSS."""
    sources = synth_song(SAMPLE_RATE)
    mixture = sum(sources.values())
    song = [("mixture", write_audio(out / "mixture.wav", mixture, SAMPLE_RATE))]
    song += [(f"true {k}", write_audio(out / f"true_{k}.wav", v, SAMPLE_RATE))
             for k, v in sources.items()]
    picture = spectrogram_png(mixture, SAMPLE_RATE, out / "mixture.png")
    sections = [Section("The song (synthesised)", song, images=[("mixture: spectrogram",
                                                                 picture)],
                        note="voice in the centre, keys left, drums slightly right")]
    for method, options, targets in RUNS:
        cls = get_method(method)
        refs = {k: sum(sources[s] for s in parts) for k, parts in targets.items()}
        extra = {"references": refs} if method in ("irm", "mixture") else {}
        result = cls(**options)(mixture, SAMPLE_RATE, **extra)
        folder = out / method
        folder.mkdir()
        players, table = [], [["source", "compared with", "SDR (dB)"]]
        for name, estimate in result.sources.items():
            players.append((name, write_audio(folder / f"{name}.wav", estimate, SAMPLE_RATE)))
            if name in refs:
                table.append([name, " + ".join(targets[name]),
                              f"{_score(refs[name], estimate):.2f}"])
        images = [] if method in ("irm", "mixture") else \
            _pictures(folder, mixture, dict(result.sources), SAMPLE_RATE)
        sections.append(Section(f"{method}: {cls.summary}", players, table, images=images,
                                note=f"{cls.reference}"))
        if not quiet:
            print(f"demo: {method} done")
    return sections
