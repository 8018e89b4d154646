"""A second network's estimate of a source blended into a mask model's masks: network
blending (Uhlich, Porcu, Giron, Enenkl, Kemp, Takahashi & Mitsufuji, "Improving music source
separation based on deep neural networks through data augmentation and network blending",
ICASSP 2017), with the helper's output turned into a mask on the model's own STFT grid.

:class:`Blended` wraps a :class:`~unweave.nn.models.spectral_mask.MaskModel` (the four-stem
U-Net) and a helper network with other training (the singing-voice U-Net: 16 kHz, mono,
two hours of MIR-1K singing). For each source the two share (``vocals``), the helper
separates the segment at its own rate and channel count, its estimate is resampled to the
model's rate, and its magnitude ratio ``|H| / |X|`` on the model's STFT (clipped to [0, 1])
is averaged with the model's mask, ``weight`` to the helper, up to 15/16 of the helper's
Nyquist frequency; above, the model's mask alone. The other sources keep their masks unless
they and the blended ones sum above one, where they are scaled down together to make room
(:func:`blend_masks`). The result is masks like the model's, so
:class:`~unweave.nn.postfilter.WienerFiltered` refines them as it does the model's.

On MUSDB's 14 validation tracks (the bundled four-stem model, one Wiener pass) the helper at
weight 0.6 raised vocals from 5.18 to 5.69 dB and other from 2.72 to 3.03, the mean of the
four stems from 4.46 to 4.66 (docs/benchmarks.md, twelfth session).
"""

from __future__ import annotations

import numpy as np
import torch

from unweave.audio import resample
from unweave.errors import UnweaveError
from unweave.nn.models.base import Wrapped

#: The helper's mask is used up to this share of its Nyquist frequency (its resampler's
#: transition band lies above).
BAND_SHARE = 15 / 16


def blend_masks(masks: torch.Tensor, ratios: torch.Tensor, blended: list[int], weight: float
                ) -> torch.Tensor:
    """``masks`` ``(B, S, C, F, T)`` with sources ``blended`` replaced by
    ``(1 - weight) * mask + weight * ratio`` on the first ``ratios.shape[-2]`` bins (``ratios``
    ``(B, len(blended), C, bins, T)`` in [0, 1]); there the other sources are scaled down
    where all masks would sum above one."""
    bins = ratios.shape[-2]
    out = masks.clone()
    low = out[..., :bins, :]
    new = (1 - weight) * low[:, blended] + weight * ratios
    rest = [j for j in range(masks.shape[1]) if j not in blended]
    if rest:
        room = (1 - new.sum(dim=1, keepdim=True)).clamp_min(0)
        total = low[:, rest].sum(dim=1, keepdim=True)
        low[:, rest] = low[:, rest] * (room / total.clamp_min(1e-8)).clamp(max=1.0)
    low[:, blended] = new
    return out


class Blended(Wrapped):
    """``model``'s masks with the estimates of the sources it shares with ``helpers`` (one
    network or several of the same sources, whose ratios are averaged) blended in,
    ``weight`` to the helpers (module docstring). Inference only: the helpers run in NumPy
    between resamplings."""

    def __init__(self, model, helpers, weight: float = 0.6):
        helpers = list(helpers) if isinstance(helpers, (list, tuple)) else [helpers]
        if not hasattr(model, "masks_for") or not hasattr(model, "stft"):
            raise UnweaveError(f"model '{model.name}' gives no masks to blend a helper into")
        first = helpers[0]
        shared = [s for s in first.sources if s in model.sources and s != first.residual]
        if not shared:
            raise UnweaveError(f"the helper ({', '.join(first.sources)}) shares no source "
                               f"with the model ({', '.join(model.sources)})")
        if any(h.sources != first.sources for h in helpers):
            raise UnweaveError("the helpers must separate the same sources")
        if not 0 <= weight <= 1:
            raise UnweaveError(f"the helper's weight must be in [0, 1] (got {weight})")
        super().__init__(model)
        self.helpers, self.weight = torch.nn.ModuleList(helpers), float(weight)
        self.stft = model.stft
        self._from_helper = [first.sources.index(s) for s in shared]
        self._blended = [model.sources.index(s) for s in shared]
        top = BAND_SHARE * min(min(h.sample_rate for h in helpers), model.sample_rate) / 2
        self.bins = int(top / (model.sample_rate / 2) * (model.stft.n_fft // 2)) + 1

    def helper_ratios(self, mixture: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """The helpers' shared sources as magnitude ratios on the model's STFT of ``mixture``
        ``(B, C, T)`` (``spec``) over the blended band, averaged over the helpers:
        ``(B, shared, C, bins, T')``."""
        return torch.stack([self._ratios(h, mixture, spec) for h in self.helpers]).mean(0)

    def _ratios(self, helper, mixture: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        from unweave.nn.apply import apply_model

        rate, length = helper.sample_rate, mixture.shape[-1]
        device = next(helper.parameters()).device
        estimates = []
        for item in mixture.detach().float().cpu().numpy():
            low = resample(np.ascontiguousarray(item), self.model.sample_rate, rate)
            out = apply_model(helper, low, segment_seconds=max(2.0, low.shape[-1] / rate + 1),
                              device=device)
            out = resample(out[self._from_helper], rate, self.model.sample_rate)
            estimates.append(np.pad(out, ((0, 0), (0, 0), (0, max(0, length - out.shape[-1]))
                                          ))[..., :length])
        spec_h = self.stft(torch.from_numpy(np.stack(estimates)).to(spec.device))
        ratio = spec_h.abs() / spec[:, None].abs().clamp_min(1e-8)
        return ratio[..., :self.bins, :].clamp(0.0, 1.0).float()

    def masks_for(self, mixture: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        masks = self.model.masks_for(mixture, spec).float()
        if self.weight == 0:
            return masks
        return blend_masks(masks, self.helper_ratios(mixture, spec), self._blended,
                           self.weight)

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        spec = self.stft(mixture)
        masked = spec[:, None] * self.masks_for(mixture, spec)
        return self.stft.inverse(masked, mixture.shape[-1]).to(mixture.dtype)
