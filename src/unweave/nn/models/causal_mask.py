"""What causal spectrogram networks share: a causal STFT, the target's spectrogram frame by
frame from a core that sees only the past, and block-by-block processing that gives the offline
output exactly.

Subclasses implement :meth:`CausalMask.init_hidden` and :meth:`CausalMask.core` (frames of the
mixture spectrogram and the recurrent state in; the first source's spectrogram, a mask times
the mixture or a filter of its past frames, and the new state out). The second source is the
mixture minus the first. Channels are separated one by one (``audio_channels`` is 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from unweave.nn.frontend import CausalSTFT
from unweave.nn.models.base import SeparationModel


class CausalMask(SeparationModel):
    causal = True

    def __init__(self, sources: Sequence[str], sample_rate: int, audio_channels: int,
                 n_fft: int, hop: int):
        super().__init__(sources, sample_rate, audio_channels)
        if len(self.sources) != 2:
            raise ValueError(f"'{self.name}' separates two sources: a target and the rest")
        if self.audio_channels != 1:
            raise ValueError(f"'{self.name}' takes one channel at a time (audio_channels 1)")
        self.n_fft, self.hop = int(n_fft), int(hop)
        self.stft = CausalSTFT(n_fft, hop)

    @property
    def residual(self) -> str:
        return self.sources[1]

    @property
    def latency(self) -> int:
        return self.stft.latency

    def init_hidden(self, n: int):
        raise NotImplementedError

    def core(self, spec: torch.Tensor, hidden) -> tuple[torch.Tensor, object]:
        """``(N, freqs, frames)`` complex, state -> the first source's ``(N, freqs, frames)``
        complex, new state. Frame ``t``'s output may depend on frames ``<= t`` only."""
        raise NotImplementedError

    def _sources(self, mixture: torch.Tensor, magnitude: bool) -> torch.Tensor:
        b, c, n = mixture.shape
        spec = self.stft(mixture.reshape(b * c, n))
        target, _ = self.core(spec, self.init_hidden(b * c))
        out = torch.stack([target, spec - target], dim=1)  # (BC, 2, F, T)
        if magnitude:
            out = out.abs()
        return out.reshape(b, c, 2, *out.shape[-2:]).transpose(1, 2)

    def spectrogram(self, mixture: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> the sources' spectrograms ``(B, 2, C, freqs, frames)``."""
        return self._sources(mixture, magnitude=False)

    def magnitudes(self, mixture: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> the sources' magnitudes ``(B, 2, C, freqs, frames)``."""
        return self._sources(mixture, magnitude=True)

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        target = self.stft.inverse(self.spectrogram(mixture)[:, 0], mixture.shape[-1])
        return torch.stack([target, mixture - target], dim=1)

    def init_state(self, batch: int = 1) -> dict:
        n = batch * self.audio_channels
        return {"stft": self.stft.init_state(n), "hidden": self.init_hidden(n),
                "mixture": torch.zeros(n, 0)}

    def process(self, block: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """``(batch, channels, n)`` -> ``(batch, sources, channels, m)``: the output samples
        finished by this block (``m`` may be 0 or more than ``n``), and the new state."""
        b, c, n = block.shape
        flat = block.reshape(b * c, n)
        spec, stft_state = self.stft.stream_frames(flat, state["stft"])
        target, hidden = self.core(spec, state["hidden"]) if spec.shape[-1] else \
            (spec, state["hidden"])
        target, stft_state = self.stft.stream_inverse(target, stft_state)
        pending = torch.cat([state["mixture"], flat.to(state["mixture"].dtype)], dim=-1)
        m = target.shape[-1]
        target = target.to(block.dtype)
        rest = pending[:, :m].to(block.dtype) - target
        out = torch.stack([target.reshape(b, c, m), rest.reshape(b, c, m)], dim=1)
        return out, {"stft": stft_state, "hidden": hidden, "mixture": pending[:, m:]}
