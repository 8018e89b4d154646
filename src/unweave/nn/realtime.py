"""Causal networks on live audio: blocks of any size in, separated samples out, as they arrive.

The model's functional API carries the whole state (front-end buffers, recurrent state)::

    state = model.init_state(batch)
    out, state = model.process(block, state)     # (B, C, n) -> (B, S, C, m)

:class:`Streamer` wraps it for one stream of ``channels``: ``process(block)`` returns the
samples finished by that block (``(sources, channels, m)``, ``m`` varies with the block size
and the model's hop), ``flush()`` the rest at the end. Their concatenation equals the offline
causal pass (``model(x)``) on the same samples, whatever the block sizes. A sample comes out at
most :attr:`Streamer.latency` samples after it went in.

:class:`ResampledStreamer` does the same at any sample rate: the blocks are resampled to the
model's rate and its outputs back, block by block (soxr's streaming resampler gives exactly what
resampling the whole signal gives), and the model's residual source is the input minus the
others at the input's rate.

(Separating whole files block by block, any model, is :mod:`unweave.blockwise`.)
"""

from __future__ import annotations

import numpy as np
import torch

from unweave.errors import UnweaveError


class Streamer:
    """Block-by-block separation of one ``channels``-channel stream with a causal ``model``."""

    def __init__(self, model, channels: int = 1, device: str = "cpu"):
        if not getattr(model, "causal", False):
            raise UnweaveError(f"model '{model.name}' is not causal: it cannot run on a live "
                               "stream (separate files offline instead)")
        if model.audio_channels != 1:
            raise UnweaveError(f"model '{model.name}' needs {model.audio_channels} channels "
                               "at once; streaming takes one-channel models")
        if channels < 1:
            raise UnweaveError(f"channels must be >= 1 (got {channels})")
        self.model, self.channels, self.device = model.eval(), channels, device
        self.reset()

    @property
    def latency(self) -> int:
        """The most samples between a sample going in and its output coming out."""
        return self.model.latency

    @property
    def sources(self) -> tuple[str, ...]:
        return self.model.sources

    def reset(self) -> None:
        """Forget the stream: the next block starts a new one."""
        self.state = self.model.init_state(self.channels)
        self.received = self.returned = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """``(channels, n)`` float samples -> ``(sources, channels, m)`` finished samples."""
        block = np.asarray(block, np.float32)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise UnweaveError(f"blocks must be (channels={self.channels}, samples); got "
                               f"{block.shape}")
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(block))[:, None]  # (C, 1, n) as batch
            out, self.state = self.model.process(x, self.state)
        self.received += block.shape[1]
        self.returned += out.shape[-1]
        return out[:, :, 0].transpose(0, 1).numpy()  # (B=C, S, 1, m) -> (S, C, m)

    def flush(self) -> np.ndarray:
        """The samples still held (as if silence followed), then a fresh stream."""
        missing = self.received - self.returned
        tail = self.process(np.zeros((self.channels, self.latency + 1), np.float32))
        self.reset()
        return tail[..., :missing]


class ResampledStreamer:
    """A :class:`Streamer` for blocks at ``sample_rate`` (any), ``channels`` channels."""

    def __init__(self, model, sample_rate: int, channels: int = 1):
        if sample_rate < 1:
            raise UnweaveError(f"sample rate must be positive (got {sample_rate})")
        self.inner = Streamer(model, channels)
        self.sample_rate, self.channels = int(sample_rate), channels
        self.sources = model.sources
        self.residual = model.residual
        self.reset()

    @property
    def latency(self) -> int:
        """The most samples (at this rate) between a sample going in and coming out, the
        resamplers' delays left out."""
        return int(np.ceil(self.inner.latency * self.sample_rate / self.inner.model.sample_rate))

    def reset(self) -> None:
        import soxr

        self.inner.reset()
        rate, model_rate = self.sample_rate, self.inner.model.sample_rate
        self._down = soxr.ResampleStream(rate, model_rate, self.channels, dtype="float32",
                                         quality="HQ") if rate != model_rate else None
        self._up = {s: soxr.ResampleStream(model_rate, rate, self.channels, dtype="float32",
                                           quality="HQ") if rate != model_rate else None
                    for s in self.sources if s != self.residual}
        self._inputs = np.zeros((self.channels, 0), np.float32)

    def _step(self, block: np.ndarray, last: bool) -> np.ndarray:
        if self._down is not None:
            low = self._down.resample_chunk(np.ascontiguousarray(block.T), last=last).T
        else:
            low = block
        out = self.inner.process(low) if low.shape[1] else \
            np.zeros((len(self.sources), self.channels, 0), np.float32)
        if last:
            out = np.concatenate([out, self.inner.flush()], axis=-1)
        parts = {}
        for j, name in enumerate(self.sources):
            if name == self.residual:
                continue
            up = self._up[name]
            parts[name] = out[j] if up is None else \
                up.resample_chunk(np.ascontiguousarray(out[j].T), last=last).T
        # Every source's resampler gets as many samples: they give as many back.
        m = min((p.shape[1] for p in parts.values()), default=0)
        if last:  # exactly as many samples out as went in
            m = self._inputs.shape[1]
            parts = {k: np.pad(v, ((0, 0), (0, max(0, m - v.shape[1]))))[:, :m]
                     for k, v in parts.items()}
        result = []
        for name in self.sources:
            if name == self.residual:
                rest = self._inputs[:, :m].copy()
                for v in parts.values():
                    rest -= v[:, :m]
                result.append(rest)
            else:
                result.append(parts[name][:, :m])
        self._inputs = self._inputs[:, m:]
        return np.stack(result).astype(np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        """``(channels, n)`` at ``sample_rate`` -> ``(sources, channels, m)`` finished."""
        block = np.asarray(block, np.float32)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise UnweaveError(f"blocks must be (channels={self.channels}, samples); got "
                               f"{block.shape}")
        self._inputs = np.concatenate([self._inputs, block], axis=1)
        return self._step(block, last=False)

    def flush(self) -> np.ndarray:
        """The rest at the end (as many samples in all as went in), then a fresh stream."""
        out = self._step(np.zeros((self.channels, 0), np.float32), last=True)
        self.reset()
        return out


def stream_offline(model, audio: np.ndarray, block: int, sample_rate: int | None = None
                   ) -> np.ndarray:
    """``audio`` ``(channels, samples)`` through a streamer in blocks of ``block`` samples:
    ``(sources, channels, samples)``, equal to the offline pass (at ``sample_rate``, default
    the model's)."""
    streamer = Streamer(model, audio.shape[0]) if sample_rate in (None, model.sample_rate) \
        else ResampledStreamer(model, sample_rate, audio.shape[0])
    parts = [streamer.process(audio[:, i : i + block])
             for i in range(0, audio.shape[1], block)]
    parts.append(streamer.flush())
    return np.concatenate(parts, axis=-1)
