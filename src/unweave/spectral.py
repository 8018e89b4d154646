"""Short-time Fourier transform with perfect reconstruction for any signal length.

Layout: signals ``(..., channels, samples)`` <-> spectrograms ``(..., channels, freqs, frames)``
with ``freqs = n_fft // 2 + 1``. Frames are centred: frame ``t`` covers samples
``t * hop - n_fft // 2 ... t * hop + n_fft // 2`` (zero padding outside the signal), so
``istft(stft(x), length=x.shape[-1])`` returns ``x`` up to rounding whenever the window and hop
satisfy the nonzero-overlap-add condition (any ``hop <= n_fft // 2`` with a Hann window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from unweave.errors import UnweaveError

#: The longest frame, and the most frames overlapping one sample (n_fft / hop): past any
#: useful setting, and they bound a spectrogram's size (at most 32x the signal's).
MAX_FFT = 1 << 16
MAX_OVERLAP = 32


@dataclass(frozen=True)
class STFTConfig:
    """Frame size ``n_fft`` and ``hop`` in samples, and a scipy window name."""

    n_fft: int = 2048
    hop: int = 512
    window: str = "hann"

    def __post_init__(self):
        if self.n_fft < 2 or self.hop < 1:
            raise UnweaveError(f"n_fft must be >= 2 and hop >= 1 (got {self.n_fft}, {self.hop})")
        if self.hop > self.n_fft:
            raise UnweaveError(f"hop ({self.hop}) must not exceed n_fft ({self.n_fft})")
        if self.n_fft > MAX_FFT or self.n_fft > MAX_OVERLAP * self.hop:
            raise UnweaveError(f"need n_fft <= {MAX_FFT} and hop >= n_fft / {MAX_OVERLAP} (got "
                               f"n_fft {self.n_fft}, hop {self.hop}): the spectrogram would "
                               "hold too many frames")

    def window_array(self, dtype=np.float64) -> np.ndarray:
        import scipy.signal  # (imported when first needed: it takes half a second)

        return scipy.signal.get_window(self.window, self.n_fft, fftbins=True).astype(dtype)

    def n_frames(self, length: int) -> int:
        return 1 + -(-length // self.hop)  # frames centred on 0, hop, ..., >= length

    def freqs(self, sample_rate: float) -> np.ndarray:
        return np.fft.rfftfreq(self.n_fft, 1.0 / sample_rate)


def _complex_dtype(x: np.ndarray):
    return np.complex64 if x.dtype in (np.float32, np.float16) else np.complex128


def _real_dtype(X: np.ndarray):
    return np.float32 if X.dtype == np.complex64 else np.float64


def stft(x: np.ndarray, config: STFTConfig = STFTConfig()) -> np.ndarray:
    """STFT of ``(..., samples)`` -> ``(..., freqs, frames)`` complex (complex64 for float32)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    n_fft, hop = config.n_fft, config.hop
    length = x.shape[-1]
    n_frames = config.n_frames(length)
    pad_left = n_fft // 2
    pad_right = (n_frames - 1) * hop + n_fft - pad_left - length
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad_left, pad_right)])
    frames = sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]
    window = config.window_array(x.dtype)
    import scipy.fft

    spec = scipy.fft.rfft(frames * window, axis=-1, workers=-1)
    return np.swapaxes(spec, -1, -2).astype(_complex_dtype(x), copy=False)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add ``(..., frames, n_fft)`` at ``hop`` -> ``(..., (frames - 1) * hop + n_fft)``."""
    n_frames, n_fft = frames.shape[-2:]
    out = np.zeros(frames.shape[:-2] + ((n_frames - 1) * hop + n_fft,), frames.dtype)
    if n_fft % hop == 0:
        # Split each frame into n_fft / hop hop-long pieces and add them with one slice each.
        pieces = frames.reshape(*frames.shape[:-1], n_fft // hop, hop)
        for r in range(n_fft // hop):
            seg = out[..., r * hop : r * hop + n_frames * hop]
            seg.reshape(*seg.shape[:-1], n_frames, hop)[...] += pieces[..., r, :]
    else:
        for t in range(n_frames):
            out[..., t * hop : t * hop + n_fft] += frames[..., t, :]
    return out


def istft(X: np.ndarray, config: STFTConfig = STFTConfig(),
          length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft`: ``(..., freqs, frames)`` -> ``(..., length)`` real signal."""
    X = np.asarray(X)
    n_fft, hop = config.n_fft, config.hop
    if X.shape[-2] != n_fft // 2 + 1:
        raise UnweaveError(f"spectrogram has {X.shape[-2]} bins; "
                           f"n_fft={n_fft} needs {n_fft // 2 + 1}")
    n_frames = X.shape[-1]
    real = _real_dtype(X)
    window = config.window_array(real)
    import scipy.fft

    frames = scipy.fft.irfft(np.swapaxes(X, -1, -2), n=n_fft, axis=-1, workers=-1) * window
    signal = _overlap_add(frames.astype(real, copy=False), hop)
    norm = _overlap_add(np.broadcast_to(window**2, (n_frames, n_fft)), hop)
    pad_left = n_fft // 2
    if length is None:
        length = (n_frames - 1) * hop
    stop = pad_left + length
    if stop > signal.shape[-1]:
        signal = np.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(0, stop - signal.shape[-1])])
        norm = np.pad(norm, (0, stop - norm.shape[-1]))
    signal, norm = signal[..., pad_left:stop], norm[pad_left:stop]
    tiny = np.finfo(real).tiny
    if length and norm.min() <= 1e-8 * norm.max():
        raise UnweaveError(
            f"window '{config.window}' with hop {hop} does not overlap-add to a nonzero sum; "
            "use a smaller hop"
        )
    return (signal / np.maximum(norm, tiny)).astype(real, copy=False)
