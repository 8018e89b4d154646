"""Front ends stored with a model: STFT/iSTFT (centred or causal) and band filterbanks.

Each is a small ``torch.nn.Module`` rebuilt from the few numbers in its ``config()`` (they go into
the model's ``model_args``); its window and band matrix are buffers that are not saved.

- :class:`STFT`: centred frames, the same as :func:`unweave.spectral.stft` /
  :func:`unweave.spectral.istft` (periodic Hann window, zero padding, ``1 + ceil(T / hop)``
  frames), so a network sees what the numpy code computes.
- :class:`CausalSTFT`: frames that end at the newest sample, square-root Hann analysis and
  synthesis windows; offline (:meth:`CausalSTFT.forward` / :meth:`CausalSTFT.inverse`) and block
  by block (:meth:`CausalSTFT.stream_frames` / :meth:`CausalSTFT.stream_inverse`) give the same
  samples. Its algorithmic latency is the window length.
- :class:`BandFilterbank`: triangular bands on the ERB or mel scale (RNNoise and PercepNet use
  ERB-spaced bands, Valin 2018): band energies from a power spectrogram, and per-band gains
  interpolated back to every bin.

Layouts: signals ``(..., samples)``; spectrograms ``(..., freqs, frames)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _overlap_add(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """``(N, frames, n_fft)`` -> ``(N, (frames - 1) * hop + n_fft)`` by overlap-add."""
    n, k, n_fft = frames.shape
    length = (k - 1) * hop + n_fft
    if n_fft % hop == 0:  # hop-long pieces added at n_fft / hop offsets: no col2im (5x faster)
        out = frames.new_zeros(n, length)
        for r in range(n_fft // hop):
            out[:, r * hop:r * hop + k * hop] += frames[..., r * hop:(r + 1) * hop].reshape(n, -1)
        return out
    out = F.fold(frames.transpose(1, 2), output_size=(1, length), kernel_size=(1, n_fft),
                 stride=(1, hop))
    return out.reshape(n, length)


def _flat(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    return x.reshape(-1, x.shape[-1]), tuple(x.shape[:-1])


class STFT(nn.Module):
    """Centred STFT of ``n_fft`` samples every ``hop``, equal to :mod:`unweave.spectral`."""

    def __init__(self, n_fft: int = 1024, hop: int = 256):
        super().__init__()
        if n_fft < 2 or not 1 <= hop <= n_fft // 2:
            raise ValueError(f"need n_fft >= 2 and 1 <= hop <= n_fft / 2 (got {n_fft}, {hop})")
        self.n_fft, self.hop = int(n_fft), int(hop)
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True,
                                                         dtype=torch.float64), persistent=False)

    def config(self) -> dict:
        return {"n_fft": self.n_fft, "hop": self.hop}

    @property
    def freqs(self) -> int:
        return self.n_fft // 2 + 1

    def n_frames(self, length: int) -> int:
        return 1 + -(-length // self.hop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., samples)`` real -> ``(..., freqs, frames)`` complex."""
        flat, lead = _flat(x)
        length = flat.shape[-1]
        frames = self.n_frames(length)
        left = self.n_fft // 2
        right = (frames - 1) * self.hop + self.n_fft - left - length
        padded = F.pad(flat, (left, right))
        spec = torch.stft(padded, self.n_fft, self.hop, window=self.window.to(x.dtype),
                          center=False, return_complex=True)
        return spec.reshape(*lead, *spec.shape[-2:])

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """``(..., freqs, frames)`` complex -> ``(..., length)`` real."""
        flat = spec.reshape(-1, *spec.shape[-2:])
        window = self.window.to(flat.real.dtype)
        frames = torch.fft.irfft(flat.transpose(1, 2), n=self.n_fft) * window
        signal = _overlap_add(frames, self.hop)
        norm = _overlap_add((window**2).expand(1, flat.shape[-1], -1), self.hop)[0]
        left = self.n_fft // 2
        stop = left + length
        if stop > signal.shape[-1]:
            signal = F.pad(signal, (0, stop - signal.shape[-1]))
            norm = F.pad(norm, (0, stop - norm.shape[-1]))
        tiny = torch.finfo(signal.dtype).tiny
        out = signal[:, left:stop] / norm[left:stop].clamp_min(tiny)
        return out.reshape(*spec.shape[:-2], length)


class CausalSTFT(nn.Module):
    """Causal frames: frame ``k`` holds samples ``[(k + 1) hop - n_fft, (k + 1) hop)`` (zeros
    before the start), square-root Hann windows on both sides.

    Offline, :meth:`forward` makes enough frames that every sample gets all its overlapping
    frames, and :meth:`inverse` returns the first ``length`` samples. Streaming keeps a state
    (the last ``n_fft - hop`` inputs, the samples short of a hop, the synthesis tail): the
    samples it returns, concatenated, are the offline ones. A sample is returned once the last
    frame that overlaps it is in: ``n_fft - 1`` samples after it arrived at most (the
    algorithmic latency, :attr:`latency`).
    """

    def __init__(self, n_fft: int = 320, hop: int = 160):
        super().__init__()
        if n_fft < 2 or not 1 <= hop <= n_fft // 2 or n_fft % hop:
            raise ValueError(f"need n_fft >= 2, hop <= n_fft / 2 dividing n_fft "
                             f"(got {n_fft}, {hop})")
        self.n_fft, self.hop = int(n_fft), int(hop)
        window = torch.hann_window(self.n_fft, periodic=True, dtype=torch.float64).sqrt()
        # Analysis x synthesis windows overlap-add to a constant; divide it out once.
        gain = float((window**2).reshape(-1, self.hop).sum(0).mean())
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("synthesis", window / gain, persistent=False)

    def config(self) -> dict:
        return {"n_fft": self.n_fft, "hop": self.hop}

    @property
    def freqs(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def latency(self) -> int:
        """Samples from a sample's arrival to its output, at most (window length - 1)."""
        return self.n_fft - 1

    @property
    def history(self) -> int:
        return self.n_fft - self.hop

    def n_frames(self, length: int) -> int:
        return -(-(length + self.history) // self.hop)

    def _analyse(self, padded: torch.Tensor) -> torch.Tensor:
        """``(N, samples)`` whose frames start every hop -> ``(N, freqs, frames)``."""
        frames = padded.unfold(-1, self.n_fft, self.hop) * self.window.to(padded.dtype)
        return torch.fft.rfft(frames).transpose(1, 2)

    def _synthesise(self, spec: torch.Tensor) -> torch.Tensor:
        """``(N, freqs, frames)`` -> ``(N, frames, n_fft)`` windowed frames."""
        frames = torch.fft.irfft(spec.transpose(1, 2), n=self.n_fft)
        return frames * self.synthesis.to(frames.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., samples)`` -> ``(..., freqs, frames)``, all frames the output needs."""
        flat, lead = _flat(x)
        k = self.n_frames(flat.shape[-1])
        padded = F.pad(flat, (self.history, (k - 1) * self.hop + self.n_fft - self.history
                              - flat.shape[-1]))
        spec = self._analyse(padded)
        return spec.reshape(*lead, *spec.shape[-2:])

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """``(..., freqs, frames)`` -> ``(..., length)``."""
        flat = spec.reshape(-1, *spec.shape[-2:])
        signal = _overlap_add(self._synthesise(flat), self.hop)
        out = signal[:, self.history : self.history + length]
        if out.shape[-1] < length:
            out = F.pad(out, (0, length - out.shape[-1]))
        return out.reshape(*spec.shape[:-2], length)

    # --- streaming --------------------------------------------------------------------------

    def init_state(self, n: int, dtype=torch.float32) -> dict:
        """The state before the first sample, for ``n`` signals."""
        return {"inputs": torch.zeros(n, self.history, dtype=dtype),
                "tail": torch.zeros(n, self.history, dtype=dtype),
                "skip": torch.tensor(self.history)}

    def stream_frames(self, x: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """Append ``(N, samples)``; return the frames now complete ``(N, freqs, k)``."""
        inputs = torch.cat([state["inputs"], x.to(state["inputs"].dtype)], dim=-1)
        k = (inputs.shape[-1] - self.history) // self.hop
        spec = self._analyse(inputs[:, : self.history + k * self.hop]) if k else \
            inputs.new_zeros(inputs.shape[0], self.freqs, 0, dtype=torch.complex64
                             if inputs.dtype == torch.float32 else torch.complex128)
        return spec, {**state, "inputs": inputs[:, k * self.hop:]}

    def stream_inverse(self, spec: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        """Synthesise frames ``(N, freqs, k)`` from :meth:`stream_frames`; return the samples
        now finished ``(N, samples)`` (none from before the signal's start)."""
        k = spec.shape[-1]
        tail = state["tail"]
        if k == 0:
            return tail[:, :0], state
        signal = _overlap_add(self._synthesise(spec), self.hop)
        signal[:, : self.history] += tail
        done, tail = signal[:, : k * self.hop], signal[:, k * self.hop:]
        skip = int(state["skip"])
        return done[:, skip:], {**state, "tail": tail,
                                "skip": torch.tensor(max(0, skip - done.shape[-1]))}


def _hz_to_scale(hz: np.ndarray, scale: str) -> np.ndarray:
    if scale == "erb":  # Glasberg & Moore (1990): ERB-rate
        return 21.4 * np.log10(1 + 0.00437 * hz)
    return 2595 * np.log10(1 + hz / 700)  # mel (O'Shaughnessy)


class BandFilterbank(nn.Module):
    """``bands`` triangular bands over ``freqs`` STFT bins up to ``sample_rate / 2``, centres
    evenly spaced on the ``scale`` ("erb" or "mel"); the lowest bands are at least one bin apart.

    :meth:`forward` sums a power spectrogram into bands ``(..., bands, frames)``;
    :meth:`expand` interpolates band values back to bins ``(..., freqs, frames)`` (each bin's
    weights sum to one, so gains of 1 give 1 everywhere).
    """

    def __init__(self, freqs: int, sample_rate: int, bands: int = 32, scale: str = "erb"):
        super().__init__()
        if scale not in ("erb", "mel"):
            raise ValueError(f"scale must be 'erb' or 'mel' (got {scale!r})")
        if not 2 <= bands <= freqs:
            raise ValueError(f"need 2 <= bands <= freqs ({freqs}); got {bands}")
        self.freqs, self.sample_rate, self.bands, self.scale = freqs, sample_rate, bands, scale
        hz = np.linspace(0, sample_rate / 2, freqs)
        warped = _hz_to_scale(hz, scale)
        centres = np.interp(np.linspace(warped[0], warped[-1], bands), warped, np.arange(freqs))
        # Keep centres strictly increasing by at least one bin (the low bands are narrow).
        for i in range(1, bands):
            centres[i] = max(centres[i], centres[i - 1] + 1)
        centres = np.minimum(centres, freqs - 1 - (bands - 1 - np.arange(bands)))
        bins = np.arange(freqs)[None, :]
        weights = np.zeros((bands, freqs))
        for i, c in enumerate(centres):
            left = centres[i - 1] if i else c - 1
            right = centres[i + 1] if i + 1 < bands else c + 1
            rise = (bins[0] - left) / max(c - left, 1e-9)
            fall = (right - bins[0]) / max(right - c, 1e-9)
            weights[i] = np.clip(np.minimum(rise, fall), 0, 1)
        weights[0, : int(centres[0]) + 1] = 1  # below the first centre: the first band
        weights[-1, int(math.ceil(centres[-1])):] = 1
        weights /= weights.sum(axis=0, keepdims=True)  # each bin's weights sum to one
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32),
                             persistent=False)

    def config(self) -> dict:
        return {"bands": self.bands, "scale": self.scale}

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bf,...ft->...bt", self.weights.to(power.dtype), power)

    def expand(self, values: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bf,...bt->...ft", self.weights.to(values.dtype), values)
