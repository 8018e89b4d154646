"""Training examples mixed on the fly from lazy indexes (:mod:`unweave.data.index`).

Each example set maps an example number to ``(mixture (channels, samples), sources (S,
channels, samples))`` float32, where the sources sum to the mixture. Example ``i`` is drawn with
its own generator, ``numpy.random.default_rng([seed, i])``: the same number gives the same
example in any process, worker or rank, so data loading can be split and resumed without
changing what the network sees. Nothing is held in memory but the example being made.

- :class:`MusicExamples`: excerpts of tracks' stems at random positions, each source taken
  from another random track with probability ``remix`` (Uhlich et al., ICASSP 2017), random
  gains, channel swaps, and optionally a random speed per source (pitch and formants shift
  together: more singers from few);
- :class:`SpeechNoiseExamples`: an utterance in noise at a random SNR, with optional
  reverberation (the target is the dry-plus-early speech), band limiting, tilt and clipping;
  the noise recorded (read at a random speed, through a random equaliser) or procedural;
- :class:`TalkerExamples`: utterances of different speakers at random relative levels;
- :class:`UnpairedExamples`: a mixture and an unrelated isolated source (adversarial
  training);
- :func:`music_validation`: fixed excerpts of whole tracks, for validation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from unweave.audio import resample
from unweave.data import augment, synth_noise
from unweave.data.index import Recording, Track


def fit_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """``(c, n)`` -> ``(channels, n)``: a mono mixdown, or mono copied to every channel."""
    if x.shape[0] == channels:
        return x
    mono = x.mean(axis=0, keepdims=True)
    return np.repeat(mono, channels, axis=0) if channels > 1 else mono


def _excerpt_at(read, rate_in: int, rate_out: int, start_out: int, n_out: int) -> np.ndarray:
    """``n_out`` samples at ``rate_out`` from ``start_out``, of a signal read at ``rate_in``
    by ``read(start, count)`` (zero-padded past its end)."""
    if rate_in == rate_out:
        x = read(start_out, n_out)
    else:
        margin = 32
        start_in = max(0, int(start_out * rate_in / rate_out) - margin)
        count = int(np.ceil(n_out * rate_in / rate_out)) + 2 * margin
        x = resample(read(start_in, count), rate_in, rate_out)
        skip = int(round((start_out * rate_in / rate_out - start_in) * rate_out / rate_in))
        x = x[:, skip : skip + n_out]
    if x.shape[-1] < n_out:
        x = np.pad(x, ((0, 0), (0, n_out - x.shape[-1])))
    return x.astype(np.float32, copy=False)


def _length_at(frames: int, rate_in: int, rate_out: int) -> int:
    return int(frames * rate_out / rate_in)


def _random_rate(rate: int, speed: float, rng: np.random.Generator) -> int:
    """``rate`` up to ``speed`` higher or lower: a signal read as if at that rate plays faster
    or slower, its pitch and spectrum moving with it (``rate`` itself when ``speed`` is 0)."""
    return int(round(rate * (1 + rng.uniform(-speed, speed)))) if speed else rate


def _start(rng: np.random.Generator, length: int, n: int) -> int:
    return int(rng.integers(0, length - n + 1)) if length > n else 0


@dataclass
class MusicExamples:
    """Remixed excerpts of ``tracks`` for ``sources``, ``samples`` long at ``sample_rate`` with
    ``channels`` channels; a source listed in ``extra`` comes from those tracks with
    probability ``extra_p`` (more vocals from a singing-voice corpus, say). With ``targets``,
    every source is mixed but only the targets are returned (a network for some of them)."""

    tracks: Sequence[Track]
    sources: Sequence[str]
    sample_rate: int
    channels: int
    samples: int
    seed: int = 0
    remix: float = 0.5
    gain_db: float = 6.0
    swap: bool = True
    extra: dict[str, Sequence[Track]] = field(default_factory=dict)  # more tracks per source
    extra_p: float = 0.0  # chance that a source with extra tracks is drawn from them
    speed: dict[str, float] = field(default_factory=dict)  # source -> largest speed change
    targets: Sequence[str] = ()  # the sources returned (empty: all of them)

    def source_excerpt(self, track: Track, source: str, rng: np.random.Generator
                       ) -> np.ndarray:
        rate = _random_rate(track.sample_rate, self.speed.get(source, 0.0), rng)
        length = _length_at(track.frames, rate, self.sample_rate)
        start = _start(rng, length, self.samples)
        x = _excerpt_at(lambda s, n: track.read(source, s, n, self.sources),
                        rate, self.sample_rate, start, self.samples)
        return fit_channels(x, self.channels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        base = self.tracks[int(rng.integers(len(self.tracks)))]
        out = []
        for source in self.sources:
            track = base if rng.random() >= self.remix else \
                self.tracks[int(rng.integers(len(self.tracks)))]
            pool = self.extra.get(source)
            if pool and rng.random() < self.extra_p:
                track = pool[int(rng.integers(len(pool)))]
            x = augment.random_gain(self.source_excerpt(track, source, rng), rng,
                                    -self.gain_db, self.gain_db)
            out.append(augment.swap_channels(x, rng) if self.swap else x)
        sources = np.stack(out)
        return sources.sum(axis=0), _picked(sources, self.sources, self.targets)


def _picked(stems: np.ndarray, names: Sequence[str], targets: Sequence[str]) -> np.ndarray:
    """The rows of ``stems`` (one per name of ``names``) named in ``targets`` (all if none)."""
    return stems[[list(names).index(t) for t in targets]] if targets else stems


def music_validation(tracks: Sequence[Track], sources: Sequence[str], sample_rate: int,
                     channels: int, seconds: float = 10.0, targets: Sequence[str] = ()
                     ) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, mixture, sources)`` for the first ``seconds`` of each track (read when
    reached); with ``targets``, the mixture of all ``sources`` and the targets alone."""
    for t in tracks:
        n = min(_length_at(t.frames, t.sample_rate, sample_rate), int(seconds * sample_rate))
        stems = np.stack([fit_channels(_excerpt_at(
            lambda s, k, src=src, t=t: t.read(src, s, k, sources), t.sample_rate,
            sample_rate, 0, n), channels) for src in sources])
        yield t.name, stems.sum(axis=0), _picked(stems, sources, targets)


def _speech_excerpt(rec: Recording, rate: int, n: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """A random ``n``-sample stretch of an utterance, mono; a shorter utterance is placed at a
    random offset in silence."""
    length = _length_at(rec.frames, rec.sample_rate, rate)
    if length >= n:
        x = _excerpt_at(rec.read, rec.sample_rate, rate, _start(rng, length, n), n)
        return fit_channels(x, 1)
    x = fit_channels(_excerpt_at(rec.read, rec.sample_rate, rate, 0, length), 1)
    offset = int(rng.integers(0, n - length + 1))
    return np.pad(x, ((0, 0), (offset, n - length - offset)))


def _noise_excerpt(noises: Sequence[Recording], rate: int, n: int, rng: np.random.Generator,
                   speed: float = 0.0) -> np.ndarray:
    """``n`` samples of noise, mono: random stretches of random clips one after another (a
    short clip is not looped), each read up to ``speed`` faster or slower (its spectrum
    moves: a new noise from an old one)."""
    out = np.zeros((1, n), np.float32)
    filled = 0
    while filled < n:
        rec = noises[int(rng.integers(len(noises)))]
        read_rate = _random_rate(rec.sample_rate, speed, rng)
        length = _length_at(rec.frames, read_rate, rate)
        want = min(n - filled, length)
        if want <= 0:
            break
        piece = fit_channels(_excerpt_at(rec.read, read_rate, rate,
                                         _start(rng, length, want), want), 1)
        piece = piece / np.sqrt(max(augment.power(piece), 1e-12))  # comparable levels
        out[:, filled : filled + want] = piece
        filled += want
    return out


@dataclass
class SpeechNoiseExamples:
    """An utterance of ``speech`` in ``noise`` (or, with probability ``music_p``, in
    ``music``) at an SNR drawn in ``snr_db``; the mixture's level drawn in ``level_db`` (dBFS
    RMS). Sources: ``(speech, noise)``, the noise being the
    mixture minus the target speech."""

    speech: Sequence[Recording]
    noise: Sequence[Recording]
    sample_rate: int
    samples: int
    seed: int = 0
    music: Sequence[Recording] = field(default_factory=tuple)  # music as noise, apart
    music_p: float = 0.3  # chance that the noise is music (when there is music)
    snr_db: tuple[float, float] = (-5.0, 20.0)
    level_db: tuple[float, float] = (-35.0, -15.0)
    rirs: Sequence[np.ndarray] = field(default_factory=tuple)
    reverb_p: float = 0.3
    two_noises_p: float = 0.3
    tilt_p: float = 0.5
    band_limit_p: float = 0.1
    clip_p: float = 0.05
    synthetic_p: float = 0.0  # chance that the noise is procedural (unweave.data.synth_noise)
    noise_speed: float = 0.0  # recorded noise read up to this much faster or slower
    eq_p: float = 0.0  # chance of a random smooth equaliser on the noise

    def _noise(self, rng: np.random.Generator) -> np.ndarray:
        if self.synthetic_p and rng.random() < self.synthetic_p:
            return synth_noise.synthetic_noise(self.samples, self.sample_rate, rng)
        return _noise_excerpt(self._pool(rng), self.sample_rate, self.samples, rng,
                              self.noise_speed)

    def _pool(self, rng: np.random.Generator) -> Sequence[Recording]:
        if self.music and (not self.noise or rng.random() < self.music_p):
            return self.music
        return self.noise

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        n, rate = self.samples, self.sample_rate
        speech = _speech_excerpt(self.speech[int(rng.integers(len(self.speech)))], rate, n,
                                 rng)
        target = speech
        if self.rirs and rng.random() < self.reverb_p:
            speech, target = augment.reverberate(
                speech, self.rirs[int(rng.integers(len(self.rirs)))], rate)
        noise = self._noise(rng)
        if rng.random() < self.two_noises_p:
            noise = noise + self._noise(rng) * np.float32(augment.db_to_gain(
                rng.uniform(-10, 0)))
        if rng.random() < self.tilt_p:
            noise = augment.tilt(noise, rng)
        if self.eq_p and rng.random() < self.eq_p:
            noise = synth_noise.shape(noise, rng)
        noise = augment.noise_for_snr(speech, noise, rng.uniform(*self.snr_db))
        mixture = speech + noise
        level = np.sqrt(max(augment.power(mixture), 1e-12))
        gain = np.float32(augment.db_to_gain(rng.uniform(*self.level_db)) / level)
        mixture, target = mixture * gain, target * gain
        if rng.random() < self.band_limit_p:  # the target loses the same band
            cutoff = augment.random_cutoff(rate, rng)
            mixture = augment.low_pass(mixture, rate, cutoff)
            target = augment.low_pass(target, rate, cutoff)
        if rng.random() < self.clip_p:
            mixture = augment.clip(mixture, rng)
        mixture = mixture.astype(np.float32)
        target = target.astype(np.float32)
        return mixture, np.stack([target, mixture - target])


@dataclass
class TalkerExamples:
    """``talkers`` utterances of different speakers, each a random stretch, at levels within
    ``level_db`` of each other; optional reverberation (``reverb_p``: each talker's image in
    the room is its target), light noise (``noise_p``, in the mixture only), and turns
    (``turns_p``: the talkers take turns, each heard in part of the example,
    :func:`unweave.data.augment.turn_windows`)."""

    speech: Sequence[Recording]
    sample_rate: int
    samples: int
    talkers: int = 2
    seed: int = 0
    level_db: float = 5.0
    noise: Sequence[Recording] = field(default_factory=tuple)
    noise_p: float = 0.0
    noise_snr_db: tuple[float, float] = (15.0, 30.0)
    rirs: Sequence[np.ndarray] = field(default_factory=tuple)
    reverb_p: float = 0.0  # chance that the talkers are in a room (each its own response)
    turns_p: float = 0.0  # chance that the talkers take turns rather than all speak at once

    def __post_init__(self):
        self._by_speaker: dict[str, list[Recording]] = {}
        for r in self.speech:
            self._by_speaker.setdefault(r.group, []).append(r)
        self._speakers = sorted(self._by_speaker)
        if len(self._speakers) < self.talkers:
            from unweave.errors import UnweaveError

            raise UnweaveError(f"{self.talkers} talkers need as many speakers; the data has "
                               f"{len(self._speakers)}")

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        speakers = rng.choice(len(self._speakers), self.talkers, replace=False)
        out = []
        for s in speakers:
            utterances = self._by_speaker[self._speakers[int(s)]]
            x = _speech_excerpt(utterances[int(rng.integers(len(utterances)))],
                                self.sample_rate, self.samples, rng)
            x = x / np.float32(np.sqrt(max(augment.power(x), 1e-12)))
            out.append(augment.random_gain(x, rng, -self.level_db / 2, self.level_db / 2))
        if self.turns_p and rng.random() < self.turns_p:
            gains = augment.turn_windows(self.talkers, self.samples, rng)
            out = [x * g for x, g in zip(out, gains)]
        if self.rirs and rng.random() < self.reverb_p:  # the targets are the reverberant images
            out = [augment.reverberate(x, self.rirs[int(rng.integers(len(self.rirs)))],
                                       self.sample_rate)[0] for x in out]
        sources = np.stack(out).astype(np.float32)
        mixture = sources.sum(axis=0)
        if self.noise and rng.random() < self.noise_p:
            noise = augment.noise_for_snr(mixture, _noise_excerpt(self.noise,
                                                                  self.sample_rate,
                                                                  self.samples, rng),
                                          rng.uniform(*self.noise_snr_db))
            mixture = mixture + noise
        scale = np.float32(0.1 / max(float(np.abs(mixture).max()), 1e-6))
        return mixture * scale, sources * scale


@dataclass
class UnpairedExamples:
    """A mixture excerpt and an unrelated isolated-source excerpt (no pairs)."""

    mixtures: Sequence[Recording]
    targets: Sequence[Recording]
    sample_rate: int
    channels: int
    samples: int
    seed: int = 0

    def _excerpt(self, rec: Recording, rng: np.random.Generator) -> np.ndarray:
        length = _length_at(rec.frames, rec.sample_rate, self.sample_rate)
        x = _excerpt_at(rec.read, rec.sample_rate, self.sample_rate,
                        _start(rng, length, self.samples), self.samples)
        return fit_channels(x, self.channels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, index, 7])
        mix = self._excerpt(self.mixtures[int(rng.integers(len(self.mixtures)))], rng)
        target = self._excerpt(self.targets[int(rng.integers(len(self.targets)))], rng)
        return mix, target
