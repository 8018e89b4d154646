"""Recipes: what ``unweave train <name>`` trains, on what data, with which loss and score.

A recipe names a registered architecture and the task around it; the loop
(:mod:`unweave.nn.train.loop`) is the same for all. Adding a network is one model file
(:mod:`unweave.nn.models`) and one entry here. The data kinds:

- ``speech_noise``: utterances (:func:`unweave.data.index.index_recordings`: folders of
  speech, Kaldi lists) in noise (recordings, and the non-vocal stems of music tracks) at
  random SNRs, with reverberation from measured room impulse responses; validation: the mean
  SI-SDR improvement of the target on fixed examples of held-out speakers.
- ``talkers``: utterances of different speakers mixed on the fly at levels within ±5 dB,
  optionally in a room and light noise; permutation-invariant losses; validation: the mean
  SI-SDR improvement (best permutation) on fixed mixtures of held-out speakers.
- ``music``: tracks with stems (:func:`unweave.data.index.index_tracks`; a folder with a
  ``train/`` sub-folder, as MUSDB18's, gives its ``train/`` only: its ``test/`` is never read),
  remixed excerpts; validation: the median over 1 s windows of each scored source's SDR on the
  held-out tracks' first ``validation_seconds``, averaged. The held-out tracks are those the
  recipe names when the data has them (MUSDB18's 14 validation tracks for ``stems``), else a
  share of the groups. A recipe whose ``mixed`` stems are more than its sources
  (``stems-vocals``) mixes all of them and trains and validates on its own.

This module imports no torch: the command line lists recipes without loading it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from unweave.errors import UnweaveError


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str  # a registered architecture
    summary: str
    data: str  # "music", "speech_noise" or "talkers"
    sources: tuple[str, ...]
    sample_rate: int
    audio_channels: int
    loss: str  # a name in unweave.nn.losses.LOSSES (or MAGNITUDE_LOSSES)
    loss_sources: tuple[str, ...] | None = None  # None: every source
    pit: bool = False
    segment: float = 2.032  # seconds per training example
    epochs: int = 10
    steps: int = 100
    batch: int = 8
    lr: float = 1e-3
    clip_grad: float = 0.0
    remix: float = 0.5  # chance that a source comes from another track
    vocal_speed: float = 0.0  # vocals read up to this much faster or slower (music data)
    valid: tuple[str, ...] = ()  # validation tracks when the data has them
    mixed: tuple[str, ...] = ()  # music: the stems mixed when more than ``sources`` (a
    # network for some of them hears the others in its mixtures; empty: ``sources``)
    model_args: dict = field(default_factory=dict)  # defaults other than the model's own

    @property
    def domain(self) -> str:
        """``magnitude`` for a loss of a mask network's own masked STFT
        (:data:`unweave.nn.losses.MAGNITUDE_LOSSES`), else ``waveform``."""
        from unweave.nn.losses import MAGNITUDE_LOSSES

        return "magnitude" if self.loss in MAGNITUDE_LOSSES else "waveform"

    def loss_function(self) -> Callable:
        """The loss named ``loss``, from the table of its domain."""
        from unweave.nn.losses import LOSSES, MAGNITUDE_LOSSES

        return (MAGNITUDE_LOSSES if self.domain == "magnitude" else LOSSES)[self.loss]


#: The seed of the held-out split (speakers, songs), whatever ``--seed`` the training has: a
#: fine-tune or a rerun with another seed keeps the same validation set, and so never trains
#: on what its start was chosen by.
SPLIT_SEED = 0

#: The seed of the validation examples drawn from the held-out speakers (speech recipes),
#: whatever ``--seed`` the training has, so runs with different seeds are scored on the same
#: mixtures (seed 0's draw before the tenth session, when it followed ``--seed``).
VALIDATION_SEED = 10_000

#: MUSDB18's validation tracks (``musdb``'s ``validation_tracks``, all from ``train/``).
MUSDB_VALIDATION = (
    "Actions - One Minute Smile", "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies", "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint", "Alexander Ross - Goodbye Bolero", "Fergessen - Nos Palpitants",
    "Leaf - Summerghost", "Skelpolu - Human Mistakes", "Young Griffo - Pennies",
    "ANiMAL - Rockshow", "James May - On The Line", "Meaxic - Take A Step",
    "Traffic Experiment - Sirens")
STEMS = ("vocals", "drums", "bass", "other")


# Open-Unmix on the vocals alone, hearing all four stems remixed as in "stems": a network of
# another family than the four-stem U-Net, blended into its vocals (unweave.nn.blend;
# docs/benchmarks.md, thirteenth session).
_STEMS_VOCALS = Recipe(
    "stems-vocals", "umx", "vocals of a song at 44.1 kHz stereo: Open-Unmix on one target, the "
    "four-stem model's second helper", "music", ("vocals",), 44100, 2, "magnitude_l1",
    segment=3.0, epochs=100, steps=100, batch=8, clip_grad=5.0, remix=0.75,
    valid=MUSDB_VALIDATION, mixed=STEMS)

RECIPES = {r.name: r for r in (
    Recipe("unet", "unet", "U-Net singing voice: vocals / accompaniment from paired music",
           "music", ("vocals", "accompaniment"), 16000, 1, "magnitude_l1", ("vocals",)),
    # The joint mask y1 / (y1 + y2) has steep gradients where both are near zero: clipped,
    # training no longer stalls or blows up for some seeds (docs/benchmarks.md).
    Recipe("drnn", "drnn", "DRNN singing voice: vocals / accompaniment from paired music",
           "music", ("vocals", "accompaniment"), 16000, 1, "magnitude_l1", ("vocals",),
           clip_grad=1.0),
    # Huang et al.'s protocol on MIR-1K (benchmarks/bench_huang2014.py): DRNN-2 (3 hidden ReLU
    # layers, recurrence at the 2nd), 1024-point STFT with 50% overlap, 3 frames of context,
    # the joint mask and the discriminative objective; 384 units where the paper has 1000 (a
    # model that ships: 5 MB, and trains on 2 CPU cores). Two singers generalise poorly to
    # others: the vocals' speed is varied by up to 15% (pitch and formants), and Adam's step
    # is 3e-4 (docs/benchmarks.md: both measured).
    Recipe("drnn-huang", "drnn", "DRNN singing voice as Huang et al. 2014/2015: DRNN-2, "
           "discriminative training", "music", ("vocals", "accompaniment"), 16000, 1,
           "magnitude_discriminative", segment=4.0, epochs=60, steps=100,
           batch=16, lr=3e-4, clip_grad=1.0, remix=0.0, vocal_speed=0.15,
           model_args={"n_fft": 1024, "hop": 512, "context": 1, "cell": "relu", "layers": 3,
                       "recurrent": 2, "hidden": 384}),
    # The network chosen by benchmarks/bench_stems_arch.py (docs/benchmarks.md): a multi-target
    # U-Net scored 3.91 dB on MUSDB's validation tracks where Open-Unmix scored 3.28.
    Recipe("stems", "mtunet", "four stems: vocals, drums, bass and other from MUSDB18-style "
           "tracks", "music", STEMS, 44100, 2, "magnitude_l1",
           segment=3.0, epochs=100, steps=200, batch=8, clip_grad=5.0, remix=0.75,
           valid=MUSDB_VALIDATION),
    _STEMS_VOCALS,
    # The same examples for a band-split RNN (Luo & Yu 2023): a third family for the vocals.
    # On 80 previews it scored 5.10 dB alone on validation (epoch 99), above Open-Unmix, but
    # as a third helper it added 0.036 dB to the blend's mean (vocals 0.082), short of the
    # 0.05 on both set beforehand: not bundled (docs/benchmarks.md, twenty-first session).
    replace(_STEMS_VOCALS, name="stems-vocals-bsrnn", model="bsrnn",
            summary="vocals of a song at 44.1 kHz stereo: a band-split RNN on one target, a "
                    "helper of the four-stem model"),
    # Gains alone beat gains + a deep filter on held-out speakers for the same training time
    # (benchmarks/bench_enhance_arch.py: 5.24 against 4.96 dB SI-SDR improvement). SI-SDR
    # alone beat SI-SDR + a multi-resolution spectral term on held-out speakers in held-out
    # noise (a fine-tune of the 96-unit model: 4.58 -> 5.00 dB), and 128 units trained from
    # scratch on it reached 5.35 dB in 100 minutes (docs/benchmarks.md, ninth session).
    Recipe("enhance", "bandgru", "speech out of noise, causal: speech / noise from speech "
           "and noise recordings", "speech_noise", ("speech", "noise"), 16000, 1,
           "si_sdr", ("speech",), segment=4.0, epochs=60, steps=100, batch=16,
           clip_grad=5.0, model_args={"hidden": 128}),
    Recipe("talkers", "convtasnet", "talkers from one microphone: Conv-TasNet, PIT with SI-SDR",
           "talkers", ("talker_1", "talker_2"), 8000, 1, "si_sdr", pit=True, segment=3.0,
           epochs=100, steps=100, batch=8, clip_grad=5.0, model_args={"kernel": 32}),
    Recipe("talkers-drnn", "drnn", "talkers from one microphone: the DRNN with the "
           "discriminative objective of Huang et al. (2014/2015), PIT", "talkers",
           ("talker_1", "talker_2"), 8000, 1, "magnitude_discriminative", pit=True,
           segment=3.0, epochs=100, steps=100, batch=8, clip_grad=1.0,
           model_args={"n_fft": 512, "hop": 128}),
)}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        import difflib

        close = difflib.get_close_matches(name, [*RECIPES, "nmf"], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UnweaveError(f"unknown model to train '{name}'{hint} (trainable: nmf, "
                           f"{', '.join(RECIPES)})")
    return RECIPES[name]


@dataclass
class MusicData:
    """The ``music`` data options (command-line flags of the same names)."""

    data: list[str]
    validation: float = 0.15  # share of groups (songs, singers) held out
    valid: list[str] = field(default_factory=list)  # or these tracks by name
    train_valid: bool = False  # train on the validation tracks too (scores then in-sample)
    remix: float = 0.5
    validation_seconds: float = 10.0
    extra_vocals: list[str] = field(default_factory=list)  # folders whose vocals join the pool
    extra_p: float = 0.25  # chance that an example's vocals come from there
    extra_sources: list[str] = field(default_factory=lambda: ["vocals"])  # drawn from there
    # ("other" too: a MIR-1K clip's accompaniment stands in for the rest of the band)
    unpaired: str | None = None
    adversarial: float = 0.1
    gamma: float | None = None  # the discriminative loss's weight (None: the loss's default)
    vocal_speed: float = 0.0  # vocals read up to this much faster or slower (0: never)
    stem_speed: float = 0.0  # every other source read up to this much faster or slower
    scored: list[str] = field(default_factory=list)  # sources trained and validated (empty:
    # the recipe's loss_sources)
    wiener_iterations: int = 0  # Wiener passes trained and validated through (0: masks alone)


def _speeds(sources: Sequence[str], options: MusicData) -> dict[str, float]:
    """Largest speed change per source: ``vocal_speed`` for the vocals, ``stem_speed`` for
    the others (each source's excerpt drawn at its own speed: remixed examples are not in one
    key or tempo anyway)."""
    return {s: options.vocal_speed if s == "vocals" else options.stem_speed for s in sources}


def music_medians(model, tracks, scored: tuple[int, ...], seconds: float, device: str,
                  mixed: Sequence[str] = ()) -> list[tuple[int, float]]:
    """``(source, median 1 s-window SDR)`` for each track (in order) and scored source with a
    finite window: one separation per track of the mixture of ``mixed`` (default: the
    model's sources)."""
    from unweave.data.datasets import music_validation
    from unweave.metrics import framewise_sdr
    from unweave.nn.apply import apply_model

    medians = []
    targets = tuple(model.sources) if mixed else ()
    for _, mixture, sources in music_validation(tracks, mixed or model.sources,
                                                model.sample_rate, model.audio_channels,
                                                seconds, targets):
        estimates = apply_model(model, mixture, device=device)
        for j in scored:
            values = framewise_sdr(sources[j], estimates[j], model.sample_rate)
            if np.any(np.isfinite(values)):
                medians.append((j, float(np.nanmedian(values))))
    return medians


def music_stem_scores(model, tracks, seconds: float = 10.0, device: str = "cpu",
                      mixed: Sequence[str] = ()) -> list[float]:
    """Per source of ``model``: the mean over ``tracks`` of its median 1 s-window SDR (dB),
    from one separation per track (of the mixture of ``mixed``: :func:`music_medians`)."""
    import torch

    sources = range(len(model.sources))
    with torch.no_grad():
        medians = music_medians(model, tracks, tuple(sources), seconds, device, mixed)
    return [float(np.mean([m for k, m in medians if k == j])) for j in sources]


def music_score(model, tracks, scored: tuple[int, ...], seconds: float, device: str,
                mixed: Sequence[str] = ()) -> float:
    """Mean over ``tracks`` of the median 1 s-window SDR of the scored sources, averaged."""
    scores = [m for _, m in music_medians(model, tracks, scored, seconds, device, mixed)]
    return float(np.mean(scores)) if scores else float("nan")


def _refuse_unknown(flag: str, names: Sequence[str], known: Sequence[str], why: str) -> None:
    """One-line error naming those of ``names`` (a flag's values) not in ``known``."""
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnweaveError(f"{flag} {', '.join(unknown)}: {why} ({', '.join(known)})")


def music_task(recipe: Recipe, options: MusicData, seed: int, on_skip: Callable | None,
               progress: bool = False):
    """``(Task, adversary or None)`` for a ``music`` recipe."""
    from unweave.data.datasets import MusicExamples, UnpairedExamples
    from unweave.data.index import index_recordings, index_tracks, split_groups, tracks_with
    from unweave.nn.train.loop import Task

    folders = [Path(f) / "train" if (Path(f) / "train").is_dir() else Path(f)
               for f in options.data]
    tracks = [t for folder in folders for t in index_tracks(folder, on_skip, progress=progress)]
    stems = recipe.mixed or recipe.sources
    tracks = tracks_with(tracks, stems, ", ".join(map(str, options.data)))
    names = options.valid or [n for n in recipe.valid if any(t.name == n for t in tracks)]
    train, val = split_groups(tracks, options.validation, SPLIT_SEED, names)
    if not train:
        raise UnweaveError("no tracks left for training after the validation split")
    if options.valid and not val:
        raise UnweaveError(f"none of the validation tracks {', '.join(options.valid)} is in "
                           "the data")
    if options.train_valid:  # a final model, once the settings were chosen on validation
        train = list(tracks)
    extra = {}
    if options.extra_vocals:
        pool = [t for f in options.extra_vocals for t in index_tracks(f, on_skip)
                if "vocals" in t.stem_names]
        if not pool:
            raise UnweaveError(f"{', '.join(options.extra_vocals)}: no track with vocals")
        _refuse_unknown("--extra-sources", options.extra_sources, stems,
                        f"not a source mixed by '{recipe.name}'")
        extra = {s: pool for s in options.extra_sources}
    _refuse_unknown("--scored", options.scored, recipe.sources,
                    f"not a source of '{recipe.name}'")
    chosen = tuple(options.scored) or recipe.loss_sources
    scored = tuple(recipe.sources.index(s) for s in (chosen or recipe.sources))
    samples = int(round(recipe.segment * recipe.sample_rate))
    examples = MusicExamples(train, stems, recipe.sample_rate, recipe.audio_channels,
                             samples, seed, options.remix, extra=extra, extra_p=options.extra_p,
                             speed=_speeds(stems, options),
                             targets=recipe.sources if recipe.mixed else ())
    loss = recipe.loss_function()
    if options.gamma is not None:
        import functools

        loss = functools.partial(loss, gamma=options.gamma)
    wrap = None
    if options.wiener_iterations:
        if recipe.domain != "waveform":
            raise UnweaveError(f"--wiener-iterations takes a waveform loss (--loss l1), not "
                               f"'{recipe.loss}' on magnitudes")
        from unweave.nn.postfilter import WienerFiltered

        def wrap(model):
            return WienerFiltered(model, options.wiener_iterations)
    task = Task(examples, loss,
                lambda model, device: music_score(wrap(model) if wrap else model, val, scored,
                                                  options.validation_seconds, device,
                                                  recipe.mixed),
                loss_sources=scored if chosen else None, pit=recipe.pit,
                domain=recipe.domain, wrap=wrap,
                info={"data": [str(d) for d in folders] + [str(d) for d in
                                                           options.extra_vocals],
                      "split": {"train": [t.name for t in train],
                                "validation": [t.name for t in val],
                                "validation_trained": options.train_valid},
                      # How examples were drawn, whatever the defaults become later.
                      "examples": {"remix": options.remix, "vocal_speed": options.vocal_speed,
                                   "stem_speed": options.stem_speed,
                                   "extra_p": options.extra_p if options.extra_vocals else 0.0,
                                   "extra_sources": list(extra),
                                   "segment": recipe.segment},
                      "wiener_iterations": options.wiener_iterations})
    adversary = None
    if options.unpaired:
        from unweave.nn.train.adversarial import Adversary

        folder = Path(options.unpaired)
        parts = {}
        for part in ("mixtures", recipe.sources[0]):
            sub = folder / part
            parts[part] = index_recordings([sub], on_skip) if sub.is_dir() else []
            if not parts[part]:
                raise UnweaveError(f"{sub}: unpaired data needs audio files in '{part}/'")
        unpaired = UnpairedExamples(parts["mixtures"], parts[recipe.sources[0]],
                                    recipe.sample_rate, recipe.audio_channels, samples, seed)
        adversary = Adversary(unpaired, options.adversarial, target=0)
        task.info["unpaired"] = str(folder)
    return task, adversary


@dataclass
class SpeechData:
    """The ``speech_noise`` data options (command-line flags of the same names)."""

    speech: list[str]
    noise: list[str] = field(default_factory=list)
    music: list[str] = field(default_factory=list)  # tracks whose non-vocal stems are noise
    rirs: list[str] = field(default_factory=list)  # impulse response files or folders
    exclude: list[str] = field(default_factory=list)  # file-name globs left out
    validation: float = 0.1  # share of speakers held out
    snr: tuple[float, float] = (-5.0, 20.0)
    reverb: float = 0.3  # chance of reverberation (needs rirs)
    validation_examples: int = 64
    synthetic: float = 0.3  # chance that a noise is procedural
    noise_speed: float = 0.3  # recorded noise read up to this much faster or slower
    eq: float = 0.5  # chance of a random equaliser on the noise
    validation_noise: list[str] = field(default_factory=list)  # noise globs for validation only


def speech_score(model, examples, count: int, device: str) -> float:
    """Mean SI-SDR improvement (dB) of the first source on ``count`` fixed examples."""
    import torch

    from unweave.nn.losses import si_sdr

    gains = []
    for i in range(count):
        mixture, sources = examples[i]
        x = torch.from_numpy(mixture[None]).to(device)
        est = model(x)[0, 0].cpu()
        ref = torch.from_numpy(sources[0])
        if float((ref**2).sum()) > 0:
            gains.append(float(si_sdr(est, ref) - si_sdr(torch.from_numpy(mixture), ref)))
    return float(np.mean(gains)) if gains else float("nan")


def speech_task(recipe: Recipe, options: SpeechData, seed: int, on_skip: Callable | None,
                progress: bool = False):
    """``(Task, None)`` for a ``speech_noise`` recipe."""
    from unweave.data.datasets import SpeechNoiseExamples
    from unweave.data.index import (
        StemRecording,
        index_recordings,
        index_tracks,
        name_matches,
        split_groups,
    )
    from unweave.nn.train.loop import Task

    speech = index_recordings(options.speech, on_skip, options.exclude)
    if not speech:
        raise UnweaveError(f"{', '.join(options.speech)}: no speech recordings")
    noise = index_recordings(options.noise, on_skip, options.exclude) if options.noise else []
    held_noise = [r for r in noise if name_matches(r.path, options.validation_noise)]
    if options.validation_noise and not held_noise:
        raise UnweaveError(f"--validation-noise {' '.join(options.validation_noise)}: matches "
                           "no noise recording")
    noise = [r for r in noise if r not in held_noise]
    music = []
    for folder in options.music:
        folder = Path(folder) / "train" if (Path(folder) / "train").is_dir() else Path(folder)
        for t in index_tracks(folder, on_skip, progress=progress):
            music += [StemRecording(t, s, ("vocals",)) for s in t.stem_names if s != "vocals"]
    if not noise and not music:
        raise UnweaveError("no noise: give --noise folders of recordings (or --music tracks)")
    rirs = _rir_list(options.rirs, recipe.sample_rate)
    train, val = split_groups(speech, options.validation, SPLIT_SEED)
    if not train or not val:
        raise UnweaveError("the speech needs at least two speakers: some to train on, some to "
                           "validate on")
    samples = int(round(recipe.segment * recipe.sample_rate))
    common = {"sample_rate": recipe.sample_rate, "samples": samples, "snr_db": options.snr,
              "rirs": rirs, "reverb_p": options.reverb if rirs else 0.0, "music": music}
    # Validation on real noise only (held-out noise types when --validation-noise names some)
    examples = SpeechNoiseExamples(train, noise, seed=seed, synthetic_p=options.synthetic,
                                   noise_speed=options.noise_speed, eq_p=options.eq, **common)
    held = SpeechNoiseExamples(val, held_noise or noise, seed=VALIDATION_SEED, **common)
    count = options.validation_examples
    task = Task(examples, recipe.loss_function(),
                lambda model, device: speech_score(model, held, count, device),
                loss_sources=tuple(recipe.sources.index(s) for s in recipe.loss_sources or ()),
                domain=recipe.domain,
                info={"data": {"speech": options.speech, "noise": options.noise,
                               "music": options.music, "rirs": options.rirs,
                               "exclude": options.exclude,
                               "validation_noise": options.validation_noise,
                               "synthetic": options.synthetic,
                               "noise_speed": options.noise_speed, "eq": options.eq},
                      "split": {"train": sorted({r.group for r in train}),
                                "validation": sorted({r.group for r in val})},
                      "noise_recordings": len(noise), "music_stems": len(music),
                      "rirs": len(rirs)})
    return task, None


@dataclass
class TalkerData:
    """The ``talkers`` data options (command-line flags of the same names)."""

    speech: list[str]
    noise: list[str] = field(default_factory=list)  # light noise, now and then
    rirs: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    validation: float = 0.1
    level_db: float = 5.0
    noise_p: float = 0.2
    reverb: float = 0.2
    validation_examples: int = 64
    turns: float = 0.0  # chance that a training example's talkers take turns


def talkers_score(model, examples, count: int, device: str) -> float:
    """Mean SI-SDR improvement (dB, best permutation) on ``count`` fixed mixtures."""
    import torch

    from unweave.nn.losses import si_sdr
    from unweave.nn.pit import PIT, reorder

    pit = PIT(lambda e, r: -si_sdr(e, r))
    gains = []
    for i in range(count):
        mixture, sources = examples[i]
        est = model(torch.from_numpy(mixture[None]).to(device)).cpu()
        refs = torch.from_numpy(sources[None])
        _, perm = pit(est, refs)
        ours = si_sdr(reorder(est, perm), refs)[0]
        base = si_sdr(torch.from_numpy(mixture)[None].expand_as(refs), refs)[0]
        gains.append(float((ours - base).mean()))
    return float(np.mean(gains)) if gains else float("nan")


def _rir_list(paths: list[str], rate: int) -> list[np.ndarray]:
    from unweave.data.mixing import impulse_responses

    files = [f for p in map(Path, paths)
             for f in (sorted(q for q in p.rglob("*") if q.suffix.lower() in (".wav", ".flac"))
                       if p.is_dir() else [p])]
    return impulse_responses(files, rate) if files else []


def talkers_task(recipe: Recipe, options: TalkerData, seed: int, on_skip: Callable | None,
                 progress: bool = False):
    """``(Task, None)`` for a ``talkers`` recipe (as many talkers as it has sources)."""
    from unweave.data.datasets import TalkerExamples
    from unweave.data.index import index_recordings, split_groups
    from unweave.nn.losses import PAIRWISE_PARTS
    from unweave.nn.train.loop import Task

    speech = index_recordings(options.speech, on_skip, options.exclude)
    train, val = split_groups(speech, options.validation, SPLIT_SEED)
    talkers = len(recipe.sources)
    for part, what in ((train, "training"), (val, "validation")):
        if len({r.group for r in part}) < talkers:
            raise UnweaveError(f"{talkers} talkers need at least {talkers} {what} speakers; the "
                               f"speech has {len({r.group for r in speech})} in all")
    noise = index_recordings(options.noise, on_skip, options.exclude) if options.noise else []
    rirs = _rir_list(options.rirs, recipe.sample_rate)
    samples = int(round(recipe.segment * recipe.sample_rate))
    common = {"sample_rate": recipe.sample_rate, "samples": samples, "talkers": talkers,
              "level_db": options.level_db, "noise": noise,
              "noise_p": options.noise_p if noise else 0.0, "rirs": rirs,
              "reverb_p": options.reverb if rirs else 0.0}
    # Turns only in training: validation stays the fully overlapped mixtures of the issue's
    # per-pair measure (conversations: benchmarks/bench_talkers.py).
    examples = TalkerExamples(train, seed=seed, turns_p=options.turns, **common)
    held = TalkerExamples(val, seed=VALIDATION_SEED, **common)
    count = options.validation_examples
    task = Task(examples, recipe.loss_function(),
                lambda model, device: talkers_score(model, held, count, device),
                pit=True, pit_pairwise=PAIRWISE_PARTS.get(recipe.loss), domain=recipe.domain,
                info={"data": {"speech": options.speech, "noise": options.noise,
                               "rirs": options.rirs, "exclude": options.exclude},
                      "split": {"train": sorted({r.group for r in train}),
                                "validation": sorted({r.group for r in val})},
                      "talkers": talkers})
    return task, None
