"""Causal networks on live audio: blocks of any size in, separated samples out, as they arrive.

The model's functional API carries the whole state (front-end buffers, recurrent state)::

    state = model.init_state(batch)
    out, state = model.process(block, state)     # (B, C, n) -> (B, S, C, m)

:class:`Streamer` wraps it for one stream of ``channels``: ``process(block)`` returns the
samples finished by that block (``(sources, channels, m)``, ``m`` varies with the block size
and the model's hop), ``flush()`` the rest at the end. Their concatenation equals the offline
causal pass (``model(x)``) on the same samples, whatever the block sizes. A sample comes out at
most :attr:`Streamer.latency` samples after it went in.

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
        with torch.no_grad():
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


def stream_offline(model, audio: np.ndarray, block: int) -> np.ndarray:
    """``audio`` ``(channels, samples)`` through a :class:`Streamer` in blocks of ``block``
    samples: ``(sources, channels, samples)``, equal to the offline pass."""
    streamer = Streamer(model, audio.shape[0])
    parts = [streamer.process(audio[:, i : i + block])
             for i in range(0, audio.shape[1], block)]
    parts.append(streamer.flush())
    return np.concatenate(parts, axis=-1)
