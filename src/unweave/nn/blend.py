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

Several helpers blend in turn, each :class:`Blended` wrapping the last. On MUSDB's 14
validation tracks (the bundled four-stem model, one Wiener pass) the singing-voice U-Net at
weight 0.6 raised vocals from 5.18 to 5.69 dB and other from 2.72 to 3.03, the mean of the
four stems from 4.46 to 4.66 (docs/benchmarks.md, twelfth session); an Open-Unmix network on
the vocals alone (``unweave train stems-vocals``) blended in after it at 0.3 raised vocals
to 5.87 and the mean to 4.72 (thirteenth session); with both, weights 0.8 and 0.4 scored
vocals 5.96 and a mean of 4.73 (fourteenth session; the default).
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
    new = low[:, blended].mul_(1 - weight).add_(ratios, alpha=weight)  # indexing copies
    rest = [j for j in range(masks.shape[1]) if j not in blended]
    if rest:
        others = low[:, rest]
        room = new.sum(dim=1, keepdim=True).neg_().add_(1).clamp_min_(0)
        others.mul_(room.div_(others.sum(dim=1, keepdim=True).clamp_min_(1e-8)).clamp_max_(1))
        low[:, rest] = others
    low[:, blended] = new
    return out


class Blended(Wrapped):
    """``model``'s masks with ``helper``'s estimates of the sources they share blended in,
    ``weight`` to the helper (module docstring). Inference only: the helper runs in NumPy
    between resamplings, or, on the model's own STFT grid, gives its masks (``direct``)."""

    def __init__(self, model, helper, weight: float = 0.6):
        if not hasattr(model, "masks_for") or not hasattr(model, "stft"):
            raise UnweaveError(f"model '{model.name}' gives no masks to blend a helper into")
        #: Names of the sources blended (the helper's, but for its residual).
        self.shared = [s for s in helper.sources if s in model.sources and s != helper.residual]
        if not self.shared:
            raise UnweaveError(f"the helper ({', '.join(helper.sources)}) shares no source "
                               f"with the model ({', '.join(model.sources)})")
        if not 0 <= weight <= 1:
            raise UnweaveError(f"the helper's weight must be in [0, 1] (got {weight})")
        super().__init__(model)
        self.helper, self.weight = helper, float(weight)
        self.stft = model.stft
        #: Whether the helper's masks are on the model's own STFT grid (same rate, channels
        #: and transform): then they are its ratios, with no resampling or inverse transform
        #: (the same to 0.005 dB on validation, and 0.1 s less per 30 s).
        self.direct = (helper.sample_rate == model.sample_rate and hasattr(helper, "masks_for")
                       and helper.audio_channels == model.audio_channels
                       and type(getattr(helper, "stft", None)) is type(model.stft)
                       and helper.stft.config() == model.stft.config())
        #: Hz up to which the helper is heard, and the model's STFT bins below it.
        self.top_hz = model.sample_rate / 2 if self.direct else \
            BAND_SHARE * min(helper.sample_rate, model.sample_rate) / 2
        self.bins = int(self.top_hz / (model.sample_rate / 2) * (model.stft.n_fft // 2)) + 1

    def helper_ratios(self, mixture: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """The helper's shared sources as magnitude ratios on the model's STFT of ``mixture``
        ``(B, C, T)`` (``spec``) over the blended band: ``(B, shared, C, bins, T')``."""
        from unweave.nn.apply import apply_model

        picked = [self.helper.sources.index(s) for s in self.shared]
        if self.direct:
            return self.helper.masks_for(mixture, spec)[:, picked].clamp(0.0, 1.0).float()
        rate, length = self.helper.sample_rate, mixture.shape[-1]
        device = next(self.helper.parameters()).device
        estimates = []
        for item in mixture.detach().float().cpu().numpy():
            low = resample(np.ascontiguousarray(item), self.model.sample_rate, rate)
            out = apply_model(self.helper, low, segment_seconds=max(2.0, low.shape[-1] / rate
                                                                     + 1), device=device)
            estimates.append(resample(out[picked], rate, self.model.sample_rate, length))
        spec_h = self.stft(torch.from_numpy(np.stack(estimates)).to(spec.device))
        ratio = spec_h.abs() / spec[:, None].abs().clamp_min(1e-8)
        return ratio[..., :self.bins, :].clamp(0.0, 1.0).float()

    def masks_for(self, mixture: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        masks = self.model.masks_for(mixture, spec).float()
        if self.weight == 0:
            return masks
        blended = [self.model.sources.index(s) for s in self.shared]
        return blend_masks(masks, self.helper_ratios(mixture, spec), blended, self.weight)

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        spec = self.stft(mixture)
        masked = spec[:, None] * self.masks_for(mixture, spec)
        return self.stft.inverse(masked, mixture.shape[-1]).to(mixture.dtype)
