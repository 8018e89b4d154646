"""Band-split RNN: Luo & Yu, "Music Source Separation with Band-split RNN", IEEE/ACM TASLP 31,
2023.

The STFT (4096/1024 at 44.1 kHz by default) is cut into bands at ``edges`` (Hz; the last band
runs to Nyquist). Each band's complex bins of every channel (real and imaginary parts) are
normalised and projected to ``features`` values per frame: a ``(bands, frames, features)``
grid. That is the paper's input (``inputs="complex"``), but a layer norm per band and frame
hides the band's level, and so the spectrum's shape across bands. By default the bins'
``log1p`` magnitudes go in instead, with a learnt offset and scale per bin (Open-Unmix's
input), which keep it: on MUSDB's validation tracks that learnt faster (3.86 dB against 2.81
after five epochs; docs/benchmarks.md, twentieth session).

``layers`` times, a bidirectional LSTM runs along the frames of each band, then another across
the bands of each frame (each with a layer norm before it, a dense layer after it and a
residual connection); the weights are shared by all bands, which is what lets a small network
model the whole spectrum. A two-layer perceptron per band then gives each source a mask for
each of the band's bins and channels. The paper's masks are complex; these are sigmoid
magnitudes, so that they blend with the other networks' masks and feed the multichannel
Wiener filter (:mod:`unweave.nn.postfilter`). Its band layout for vocals has 41 bands and 128
features; the default here (20 bands, 48 features, 2 layers) trains on two CPU cores.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from unweave.nn.models.base import register_model
from unweave.nn.models.spectral_mask import MaskModel

#: Band edges in Hz: 200 Hz wide to 1 kHz, 500 Hz to 4 kHz, 1 kHz to 8 kHz, 2 kHz to 16 kHz,
#: then one band to Nyquist.
DEFAULT_EDGES = (0, 200, 400, 600, 800, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000,
                 7000, 8000, 10000, 12000, 14000, 16000)


def band_bins(edges_hz: Sequence[int], sample_rate: int, n_fft: int) -> list[tuple[int, int]]:
    """``[(first bin, end bin), ...]`` of each band (the last ends at Nyquist); bands that
    would hold no bin at this resolution are merged into the next."""
    freqs = n_fft // 2 + 1
    starts = sorted({min(freqs - 1, int(round(e * n_fft / sample_rate))) for e in edges_hz})
    if starts[0] != 0:
        starts = [0, *starts]
    return list(zip(starts, [*starts[1:], freqs]))


class _SequenceLayer(nn.Module):
    """Layer norm, a bidirectional LSTM along axis 1 of ``(N, L, D)``, a dense layer back to
    ``D``, and the residual."""

    def __init__(self, features: int, hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(features)
        self.lstm = nn.LSTM(features, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc(self.lstm(self.norm(x))[0])


@register_model
class BandSplitRNN(MaskModel):
    name = "bsrnn"
    summary = "band-split RNN: LSTMs along the frames and across the bands, masks per band"

    def __init__(self, sources: Sequence[str] = ("vocals",), sample_rate: int = 44100,
                 audio_channels: int = 2, edges: tuple[int, ...] = DEFAULT_EDGES,
                 features: int = 48, hidden: int = 48, layers: int = 2, n_fft: int = 4096,
                 hop: int = 1024, inputs: str = "magnitude"):
        super().__init__(sources, sample_rate, audio_channels, n_fft, hop)
        if features < 1 or hidden < 1 or layers < 1 or not edges:
            raise ValueError(f"need features, hidden and layers >= 1 and some band edges "
                             f"(got {features}, {hidden}, {layers}, {list(edges)})")
        if inputs not in ("complex", "magnitude"):
            raise ValueError(f"inputs must be 'complex' or 'magnitude' (got {inputs!r})")
        self.edges, self.inputs = tuple(int(e) for e in edges), inputs
        self.features, self.hidden, self.layers = int(features), int(hidden), int(layers)
        self.bands = band_bins(self.edges, sample_rate, n_fft)
        c, s, d = audio_channels, len(self.sources), self.features
        widths = [end - start for start, end in self.bands]
        if inputs == "complex":
            self.split = nn.ModuleList(
                nn.Sequential(nn.LayerNorm(2 * c * w), nn.Linear(2 * c * w, d)) for w in widths)
        else:
            freqs = n_fft // 2 + 1
            self.input_mean = nn.Parameter(torch.zeros(freqs))
            self.input_scale = nn.Parameter(torch.ones(freqs))
            self.split = nn.ModuleList(nn.Linear(c * w, d) for w in widths)
        self.along_time = nn.ModuleList(_SequenceLayer(d, hidden) for _ in range(layers))
        self.across_bands = nn.ModuleList(_SequenceLayer(d, hidden) for _ in range(layers))
        self.estimate = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.Tanh(),
                          nn.Linear(2 * d, s * c * w)) for w in widths)

    def _bands_in(self, spec: torch.Tensor) -> list[torch.Tensor]:
        """Each band's input ``(B, T, C, w[, 2])``: complex bins as real and imaginary parts,
        or ``log1p`` magnitudes, offset and scaled per bin."""
        if self.inputs == "complex":
            return [torch.view_as_real(spec[:, :, start:end]).permute(0, 3, 1, 2, 4)
                    for start, end in self.bands]
        x = (torch.log1p(spec.abs()) + self.input_mean[:, None]) * self.input_scale[:, None]
        return [x[:, :, start:end].permute(0, 3, 1, 2) for start, end in self.bands]

    def masks(self, spec: torch.Tensor) -> torch.Tensor:
        b, c, _, t = spec.shape
        s, k, d = len(self.sources), len(self.bands), self.features
        z = torch.stack([split(band.reshape(b, t, -1))
                         for split, band in zip(self.split, self._bands_in(spec))], dim=1)
        for time_layer, band_layer in zip(self.along_time, self.across_bands):
            z = time_layer(z.reshape(b * k, t, d)).reshape(b, k, t, d)
            z = band_layer(z.transpose(1, 2).reshape(b * t, k, d)).reshape(b, t, k, d)
            z = z.transpose(1, 2)
        masks = [torch.sigmoid(head(z[:, j])).reshape(b, t, s, c, -1)
                 for j, head in enumerate(self.estimate)]
        return torch.cat(masks, dim=-1).permute(0, 2, 3, 4, 1)  # (B, S, C, F, T)
