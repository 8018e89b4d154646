"""Trained networks as separators: ``unet`` (Jansson et al. 2017) and ``drnn`` (Huang et al.
2014/2015), each predicting a vocal mask (see :mod:`unweave.nn.models`).

Any input works: channels are separated one by one (as a batch), any sample rate is resampled
to the networks' 16 kHz and back, and long songs go through the shared chunking engine, so
memory does not grow with length. The vocals are the network's estimate; the accompaniment is
the rest of the mixture (so nothing above the networks' 8 kHz band is lost from it).
``model`` is a checkpoint path; empty means the small model shipped in the package;
``segment_seconds`` is the network's chunk length (1 s cross-fades).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from unweave.audio import resample
from unweave.errors import UnweaveError
from unweave.methods.base import Assumptions, Separation, Separator, register
from unweave.methods.chunking import separate_in_chunks

BUNDLED = {"unet": "unet_mir1k.pt", "drnn": "drnn_mir1k.pt"}


def bundled_path(name: str) -> Path:
    return Path(str(resources.files("unweave.nn") / "weights" / BUNDLED[name]))


@dataclass
class _NetworkCore(Separator):
    """The network on 16 kHz audio: one chunk in, vocals out (used by the chunking engine)."""

    network: object = None
    device: str = "cpu"

    name = "_network"
    assumptions = Assumptions()

    def separate(self, mixture, sample_rate, **inputs):
        from unweave.nn.inference import vocals_of

        return Separation({"vocals": vocals_of(self.network, mixture, self.device)},
                          sample_rate)


@dataclass
class _Neural(Separator):
    model: str = ""
    segment_seconds: float = 30.0
    device: str = "cpu"

    assumptions = Assumptions(content="music with singing", needs_training=True)

    def __post_init__(self):
        from unweave.nn.checkpoint import load_model

        path = Path(self.model) if self.model else bundled_path(self.name)
        if not self.model and not path.exists():
            raise UnweaveError(f"no bundled '{self.name}' model in this installation; give one "
                               "with --model PATH (train it with 'unweave train')")
        if self.segment_seconds <= 1:
            raise UnweaveError("segment_seconds must be > 1")
        self._network, info = load_model(path)
        if info["model_name"] != self.name:
            raise UnweaveError(f"{path}: holds a '{info['model_name']}' model, not '{self.name}'")
        if self.device != "cpu":
            from unweave.nn.train import resolve_device

            self.device = resolve_device(self.device)
            self._network = self._network.to(self.device)

    def separate(self, mixture, sample_rate, **inputs):
        from unweave.nn.features import SAMPLE_RATE

        low = resample(mixture.astype(np.float32), sample_rate, SAMPLE_RATE)
        core = _NetworkCore(self._network, self.device)
        vocals_low = separate_in_chunks(core, low, SAMPLE_RATE, self.segment_seconds,
                                        1.0)["vocals"]
        vocals = resample(vocals_low, SAMPLE_RATE, sample_rate)
        n = mixture.shape[-1]
        vocals = np.pad(vocals, ((0, 0), (0, max(0, n - vocals.shape[-1]))))[:, :n]
        vocals = vocals.astype(mixture.dtype)
        return Separation({"vocals": vocals, "accompaniment": mixture - vocals}, sample_rate)


@register
@dataclass
class UNetSeparator(_Neural):
    """U-Net singing-voice separation (Jansson et al., ISMIR 2017); bundled weights by default.

    >>> UNetSeparator()(song, 44100)["vocals"]   # doctest: +SKIP
    """

    name = "unet"
    summary = "U-Net singing-voice separator (trained network, bundled weights)"
    reference = "Jansson et al., ISMIR 2017"


@register
@dataclass
class DRNNSeparator(_Neural):
    """Deep recurrent network with a joint mask layer (Huang et al., TASLP 2015)."""

    name = "drnn"
    summary = "DRNN singing-voice separator with a joint mask layer (trained network)"
    reference = "Huang, Kim, Hasegawa-Johnson & Smaragdis, IEEE/ACM TASLP 23(12), 2015"
