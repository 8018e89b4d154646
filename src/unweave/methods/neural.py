"""Trained networks as separators: one :class:`NeuralSeparator`, whose sources come from the
checkpoint, registered once per task (``unet``: Jansson et al. 2017; ``drnn``: Huang et al.
2014/2015; each the recipe of ``unweave train`` that made the checkpoint).

Any input works: the audio is resampled to the model's rate and back, its channels are fitted
to the model's (:mod:`unweave.nn.apply`), and long audio runs in overlapping segments, so memory
does not grow with length. A model's residual source (the mixture minus the others, e.g. the
accompaniment) is recomputed at the input's rate, so nothing above the model's band is lost from
it. ``model`` is a checkpoint path (empty: the model shipped in the package);
``segment_seconds`` is the network's segment length (1 s cross-fades) and ``batch`` how many
segments go through it at once (more is faster on a GPU, costs memory on a CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import ClassVar

import numpy as np

from unweave.audio import resample
from unweave.errors import UnweaveError
from unweave.methods.base import Assumptions, Separation, Separator, register

#: The stems model's helpers' weights when none are given, by position
#: (:class:`StemsSeparator`; chosen on MUSDB's validation tracks: docs/benchmarks.md,
#: fourteenth session).
DEFAULT_HELPER_WEIGHTS = (0.8, 0.4)

#: Weights shipped in ``unweave/nn/weights/``, by method.
BUNDLED = {"unet": "unet_mir1k.pt", "stems": "stems_musdb.pt", "enhance": "enhance_speech.pt",
           "talkers": "talkers_speech.pt", "drnn": "drnn_mir1k.pt",
           "stems_vocals": "stems_vocals_musdb.pt"}  # the stems model's second helper


def bundled_path(method: str) -> Path | None:
    """The shipped checkpoint of ``method``, or None when the package ships none."""
    name = BUNDLED.get(method)
    return Path(str(resources.files("unweave.nn") / "weights" / name)) if name else None


@dataclass
class NeuralSeparator(Separator):
    """A trained network: sources, rate and channels from its checkpoint."""

    model: str = ""
    segment_seconds: float = 30.0
    batch: int = 1
    device: str = "cpu"

    #: Checkpoints of these recipes fit this method (its own name when empty).
    recipes: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        from unweave.nn.checkpoint import load_model
        from unweave.nn.device import resolve_device

        if self.segment_seconds <= 1 or not 1 <= self.batch <= 64:
            raise UnweaveError("need segment_seconds > 1 and 1 <= batch <= 64")
        path = Path(self.model) if self.model else bundled_path(self.name)
        if path is None or not self.model and not path.exists():
            raise UnweaveError(f"no bundled '{self.name}' model in this installation; give a "
                               f"checkpoint as the model option (train one with 'unweave train "
                               f"{self.name}')")
        self._network, info = load_model(path)
        fits = self.recipes or (self.name,)
        if info.get("recipe") not in fits:
            raise UnweaveError(f"{path}: holds a model trained by 'unweave train "
                               f"{info.get('recipe')}', not one for '{self.name}'")
        self._device = resolve_device(self.device)
        self._network = self._network.to(self._device)
        # A PIT-trained model's sources have no fixed order: long inputs' chunks are matched.
        self.ordered_sources = not getattr(self._network, "permutation_invariant", False)

    @property
    def sources(self) -> tuple[str, ...]:
        """The names of what this network separates, from its checkpoint."""
        return self._network.sources

    def network(self):
        """What runs on each segment: the model (a post-filter may wrap it)."""
        return self._network

    @property
    def causal(self) -> bool:
        """Whether the network runs on live blocks (:meth:`streamer`)."""
        return bool(getattr(self._network, "causal", False))

    def streamer(self, sample_rate: int, channels: int):
        """A :class:`~unweave.nn.realtime.ResampledStreamer` of a causal network for blocks at
        ``sample_rate`` with ``channels`` channels."""
        from unweave.nn.realtime import ResampledStreamer

        if not self.causal:
            raise UnweaveError(f"method '{self.name}' is not causal: it cannot stream (use "
                               "'unweave separate')")
        return ResampledStreamer(self._network, sample_rate, channels)

    def describe(self) -> list[str]:
        """What the loaded model is: sources, rate, channels, latency (causal models)."""
        net = self._network
        lines = [f"model: {net.name}, sources {', '.join(net.sources)}, {net.sample_rate} Hz "
                 f"inside, {sum(p.numel() for p in net.parameters()):,} parameters"]
        if self.causal:
            ms = 1000 * (net.latency + 1) / net.sample_rate
            lines.append(f"latency: {ms:.0f} ms (window {1000 * net.n_fft / net.sample_rate:.0f}"
                         f" ms + look-ahead 0 ms; causal: runs live with 'unweave stream')")
        return lines

    def separate(self, mixture, sample_rate, **inputs):
        from unweave.nn.apply import apply_model

        if self.causal:  # state carried over the whole signal, as 'unweave stream' does
            from unweave.nn.realtime import stream_offline

            out = stream_offline(self._network, mixture.astype(np.float32), sample_rate,
                                 sample_rate)
            return Separation({k: v.astype(mixture.dtype) for k, v in
                               zip(self._network.sources, out)}, sample_rate)
        network = self.network()
        low = resample(mixture.astype(np.float32), sample_rate, network.sample_rate)
        estimates = apply_model(network, low, self.segment_seconds, 1.0, self.batch,
                                self._device, unordered=not self.ordered_sources)
        del low
        n = mixture.shape[-1]
        out = {}
        for name, est in zip(network.sources, estimates):
            if name == network.residual:
                continue  # made below, at the input's rate
            est = resample(est, network.sample_rate, sample_rate, length=n)
            out[name] = est.astype(mixture.dtype, copy=False)
        del estimates
        if network.residual is not None:
            rest = mixture.copy()
            for est in out.values():
                rest -= est
            out[network.residual] = rest
        return Separation({k: out[k] for k in network.sources}, sample_rate)


@register
@dataclass
class UNetSeparator(NeuralSeparator):
    """U-Net singing-voice separation (Jansson et al., ISMIR 2017); bundled weights by default.

    >>> UNetSeparator()(song, 44100)["vocals"]   # doctest: +SKIP
    """

    name = "unet"
    summary = "U-Net singing-voice separator (trained network, bundled weights)"
    reference = "Jansson et al., ISMIR 2017"
    assumptions = Assumptions(content="music with singing", needs_training=True)


@register
@dataclass
class DRNNSeparator(NeuralSeparator):
    """Deep recurrent network with a joint mask layer (Huang et al., TASLP 2015). The bundled
    model was trained under the paper's MIR-1K protocol (``unweave train drnn-huang``: the
    singers abjones and amy; docs/benchmarks.md); or give a checkpoint from ``unweave train
    drnn`` or ``drnn-huang``."""

    name = "drnn"
    summary = "DRNN singing-voice separator with a joint mask layer (bundled network)"
    reference = "Huang, Kim, Hasegawa-Johnson & Smaragdis, IEEE/ACM TASLP 23(12), 2015"
    assumptions = Assumptions(content="music with singing")
    recipes: ClassVar[tuple[str, ...]] = ("drnn", "drnn-huang")


@register
@dataclass
class StemsSeparator(NeuralSeparator):
    """Four stems (vocals, drums, bass, other) from a multi-target U-Net trained on MUSDB18
    (Jansson et al. 2017; chosen over Open-Unmix, Stöter et al. 2019, by a validation
    benchmark), with ``helper`` networks' estimates of the sources they share blended into
    its masks in turn, ``helper_weight`` to each (network blending, Uhlich et al. 2017;
    comma-separated; by default the bundled singing-voice ``unet``, then the bundled
    Open-Unmix vocals network ``stems_vocals``; checkpoint paths, or empty for none; the
    weights default to 0.8 for the first helper and 0.4 for the second;
    :mod:`unweave.nn.blend`), refined by a multichannel Wiener filter (Nugraha et al. 2016) with
    ``wiener_iterations`` EM passes, each entering its estimates as amplitude ratios (0: the
    network's masks alone; :mod:`unweave.nn.postfilter`). ``two_stems`` names a
    stem to keep; the rest is summed into ``no_<stem>`` (as Demucs' ``--two-stems``).

    >>> StemsSeparator()(song, 44100).names   # doctest: +SKIP
    ['vocals', 'drums', 'bass', 'other']
    """

    two_stems: str = ""
    # On MUSDB's 14 validation tracks the bundled singing-voice U-Net's vocals, blended in at
    # 0.6, raised the four stems' mean SDR from 4.46 to 4.66 dB (vocals 5.18 -> 5.69, other
    # 2.72 -> 3.03; weights 0.5 / 0.7 scored 4.65 / 4.65; docs/benchmarks.md, twelfth session);
    # the Open-Unmix vocals network then, at 0.3, to 4.72 (vocals 5.87; 0.4: 4.71; thirteenth).
    # With both, the weights 0.8 and 0.4 scored 4.73 (vocals 5.96; a grid of 0.6 to 0.9 and
    # 0.2 to 0.5; fourteenth).
    helper: str = "unet,stems_vocals"
    helper_weight: str = ""  # comma-separated, one per helper; empty: DEFAULT_HELPER_WEIGHTS
    # 1: on MUSDB's 14 validation tracks (the bundled model) one EM pass started from the
    # masks as power ratios scored 4.46 dB mean SDR, the masks alone 4.31, two passes 4.20
    # (docs/benchmarks.md, ninth session). With both helpers two passes scored 4.78 (vocals
    # 5.99 / 5.96), but a 10-minute song's peak memory then rose 12% above a 3-minute one's
    # (target: 10%; fourteenth session), so one pass stays.
    wiener_iterations: int = 1

    name = "stems"
    summary = "four stems: vocals, drums, bass, other (trained U-Net, two helpers, Wiener filter)"
    reference = ("Jansson et al., ISMIR 2017 (U-Net); Uhlich et al., ICASSP 2017 (blending); "
                 "Nugraha et al., IEEE/ACM TASLP 2016 (Wiener filter)")
    assumptions = Assumptions(content="music (stereo or mono)", needs_training=True)

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.wiener_iterations <= 10:
            raise UnweaveError("need 0 <= wiener_iterations <= 10")
        if self.two_stems and self.two_stems not in self.sources:
            raise UnweaveError(f"two_stems must be one of {', '.join(self.sources)} (got "
                               f"{self.two_stems!r})")
        from unweave.nn.checkpoint import load_model

        #: ``(name, network, weight)`` of each helper blended in, in order.
        self._helpers = []
        for name, weight in _helper_weights(self.helper, self.helper_weight):
            path = bundled_path(name) or Path(name)
            if not path.exists():
                raise UnweaveError(f"helper {name!r}: not a bundled model (unet, "
                                   "stems_vocals, drnn) nor a checkpoint file")
            self._helpers.append((name, load_model(path)[0].to(self._device), weight))
        self.network()  # checks that each helper shares a source with the model

    def describe(self) -> list[str]:
        blends, net = [], self.network().model  # the last helper's blend is the outermost
        for name, helper, weight in reversed(self._helpers):
            blends.append(f"helper: {name} ({helper.name}), {', '.join(net.shared)} blended in "
                          f"at {weight:g} up to {net.top_hz / 1000:.1f} kHz")
            net = net.model
        return super().describe() + blends[::-1]

    def network(self):
        from unweave.nn.blend import Blended
        from unweave.nn.postfilter import WienerFiltered

        net = self._network
        for _, helper, weight in self._helpers:
            net = Blended(net, helper, weight)
        return WienerFiltered(net, self.wiener_iterations)

    def separate(self, mixture, sample_rate, **inputs):
        result = super().separate(mixture, sample_rate, **inputs)
        if not self.two_stems:
            return result
        keep = result.sources[self.two_stems]
        rest = np.sum([v for k, v in result.sources.items() if k != self.two_stems], axis=0)
        return Separation({self.two_stems: keep, f"no_{self.two_stems}": rest}, sample_rate)


def _helper_weights(helpers: str, weights: str) -> list[tuple[str, float]]:
    """``(name, weight)`` of each helper named in ``helpers`` with a weight above 0, from the
    comma-separated ``weights`` (empty: :data:`DEFAULT_HELPER_WEIGHTS` by position)."""
    names = [n.strip() for n in str(helpers).split(",") if n.strip()]
    text = str(weights).strip()
    try:
        values = [float(w) for w in text.split(",")] if text \
            else list(DEFAULT_HELPER_WEIGHTS[:len(names)])
    except ValueError:
        raise UnweaveError(f"helper_weight must be numbers in [0, 1], comma-separated (got "
                           f"{weights!r})") from None
    if names and len(values) != len(names):
        raise UnweaveError(f"helper_weight needs one weight per helper ({len(names)}: "
                           f"{', '.join(names)}; got {weights!r})")
    if not all(0 <= w <= 1 for w in values):
        raise UnweaveError(f"helper_weight must be in [0, 1] (got {weights})")
    return [(n, w) for n, w in zip(names, values) if w > 0]


@register
@dataclass
class EnhanceSeparator(NeuralSeparator):
    """Speech out of noise with a causal network (gains on ERB bands from GRUs, RNNoise-style,
    Valin 2018; the deep filter of DeepFilterNet, Schröter et al. 2022, is an option of the
    model): ``speech`` and ``noise`` (the mixture minus the speech), each channel on its own;
    it also runs live, block by block (``unweave stream -m enhance``), with the same output.

    >>> EnhanceSeparator()(noisy, 48000)["speech"]   # doctest: +SKIP
    """

    name = "enhance"
    summary = "speech out of noise, causal and real-time (trained network, bundled)"
    reference = "Valin, MMSP 2018 (RNNoise); Schröter et al., ICASSP 2022 (DeepFilterNet)"
    assumptions = Assumptions(content="speech in noise", needs_training=True)


@register
@dataclass
class TalkersSeparator(NeuralSeparator):
    """Talkers from one microphone: Conv-TasNet (Luo & Mesgarani 2019) trained with
    utterance-level permutation-invariant training (Kolbæk et al. 2017); checkpoints of the
    speech DRNN of Huang et al. (``unweave train talkers-drnn``) work too. A long recording is
    separated in segments whose outputs are matched to each other over their overlaps, so each
    talker stays on one output. Several channels are mixed to their mid signal, separated, and
    each talker's image at every channel is the channel masked by the talkers' ratio masks
    (``mid`` False: each channel on its own, matched across channels). Within a segment, a
    talker moved to the other output in the middle of a turn is put back (``trace``:
    :func:`unweave.tracing.trace_talkers`). ``passes`` averages the network's outputs over
    that many passes (as is, delayed by half its encoder's stride, negated, both;
    :mod:`unweave.nn.tta`): 3 raised the validation pairs' SI-SDR improvement from 6.16 to
    6.38 dB at three times the network's cost; 1 is one pass. Above the band the network
    hears (4 kHz for the bundled 8 kHz model), each talker gets the mixture's top band in
    proportion to its power just below (``full_band``, :func:`unweave.refine.extend_band`);
    then each talker is the mixture under the ratio masks of the outputs' powers
    (``remask``, :func:`unweave.refine.remask`). ``n_sources`` (0: the model's) must be the
    model's number of talkers.

    >>> TalkersSeparator()(interview, 16000).names   # doctest: +SKIP
    ['talker_1', 'talker_2']
    """

    n_sources: int = 0
    mid: bool = True
    trace: bool = True
    passes: int = 3
    full_band: bool = True
    remask: bool = True

    name = "talkers"
    summary = "talkers from one microphone (Conv-TasNet + PIT, trained network, bundled)"
    reference = "Luo & Mesgarani, IEEE/ACM TASLP 2019; Kolbæk et al., IEEE/ACM TASLP 2017"
    assumptions = Assumptions(content="speech (talkers)", needs_training=True)
    recipes: ClassVar[tuple[str, ...]] = ("talkers", "talkers-drnn")

    def __post_init__(self):
        super().__post_init__()
        self.ordered_sources = False  # trained with PIT: the talkers have no fixed order
        from unweave.nn.tta import Averaged

        try:  # built once; the wrapper checks the number of passes
            self._averaged = Averaged(self._network, self.passes)
        except ValueError as exc:
            raise UnweaveError(str(exc)) from None
        if self.n_sources and self.n_sources != len(self.sources):
            raise UnweaveError(f"this model separates {len(self.sources)} talkers, not "
                               f"{self.n_sources} (train one with 'unweave train talkers "
                               f"--talkers {self.n_sources}')")

    def network(self):
        return self._network if self.passes == 1 else self._averaged

    def separate(self, mixture, sample_rate, **inputs):
        if mixture.shape[0] == 1 or not self.mid:
            sources = super().separate(mixture, sample_rate, **inputs).sources
            if mixture.shape[0] > 1:  # channels separated on their own: one order for all
                sources = _same_order_across_channels(sources)
            return Separation(self._finished(sources, mixture, sample_rate), sample_rate)
        mid = mixture.mean(axis=0, keepdims=True)
        mono = super().separate(mid, sample_rate, **inputs).sources
        return Separation(_images_by_masks(self._finished(mono, mid, sample_rate), mixture),
                          sample_rate)

    def _finished(self, sources: dict[str, np.ndarray], mixture: np.ndarray,
                  sample_rate: int) -> dict[str, np.ndarray]:
        """The network's talkers with the top band filled, the mixture re-masked and each
        talker traced (as the options say)."""
        from unweave import refine
        from unweave.tracing import trace_talkers

        names = list(sources)
        talkers = np.stack([sources[n] for n in names])
        if self.full_band:
            talkers = refine.extend_band(talkers, mixture, sample_rate,
                                         self._network.sample_rate / 2)
        if self.remask:
            talkers = refine.remask(talkers, mixture, sample_rate)
        if self.trace:
            talkers = trace_talkers(talkers, sample_rate)
        return dict(zip(names, talkers))


def _same_order_across_channels(sources: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each channel's talkers reordered to match the first channel's (whole signal)."""
    from unweave.chunks import best_order

    names = list(sources)
    stack = np.stack([sources[n] for n in names])  # (S, C, T)
    for c in range(1, stack.shape[1]):
        stack[:, c] = stack[best_order(stack[:, 0], stack[:, c]), c]
    return dict(zip(names, stack))


def _images_by_masks(mono: dict[str, np.ndarray], mixture: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """Each talker's image at every channel of ``mixture`` ``(C, T)``: the channel's STFT
    under the talkers' ratio masks (power 2) from their mono estimates."""
    from unweave.masking import ratio_masks
    from unweave.spectral import STFTConfig, istft, stft

    config = STFTConfig(1024, 256)
    names = list(mono)
    masks = ratio_masks(np.abs(stft(np.stack([mono[n][0] for n in names]), config)))
    spec = stft(mixture, config)  # (C, F, T)
    return {n: istft(spec * m[None], config, mixture.shape[-1]).astype(mixture.dtype)
            for n, m in zip(names, masks)}
