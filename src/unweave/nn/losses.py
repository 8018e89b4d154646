"""Training losses on separated signals ``(batch, sources, channels, samples)``.

Each loss takes ``(estimates, references)`` of that shape and returns one number per batch item
and source ``(batch, sources)`` (the training loop averages; the permutation-invariant wrapper
of :mod:`unweave.nn.pit` compares every estimate with every reference through them).

- :func:`si_sdr`: scale-invariant SDR in dB (Le Roux et al., ICASSP 2019), equal to
  :func:`unweave.metrics.si_sdr` on the same arrays (channels joined); the loss is its negative.
- :func:`spectral_l1`: L1 distance of STFT magnitudes at one resolution.
- :func:`multi_resolution`: spectral convergence plus log-magnitude L1 summed over several
  STFT resolutions (Yamamoto, Song & Kim, "Parallel WaveGAN", ICASSP 2020).
- :func:`l1`: mean absolute sample difference.
- :func:`thresholded_snr`: SNR in dB, soft-capped at 30 dB (Wisdom et al., "Unsupervised
  sound separation using mixture invariant training", NeurIPS 2020); silent references are
  measured against a floor at the mixture's level, so they neither blow up nor vanish.
- :func:`discriminative`: squared spectral error minus ``gamma`` times the error against the
  other sources (Huang et al., TASLP 2015, eq. 7).

:data:`MAGNITUDE_LOSSES` compare a mask network's own masked magnitudes with the magnitudes of
its STFT of the references, ``(B, S, C, freqs, frames)`` (the loop's ``magnitude`` domain): the
loss
the mask networks of Jansson et al. and Huang et al. were trained with, without the round trip
through the inverse STFT (which slows their training down badly: `docs/benchmarks.md`).
"""

from __future__ import annotations

import torch

from unweave.nn.frontend import STFT


def si_sdr(estimates: torch.Tensor, references: torch.Tensor, zero_mean: bool = True,
           eps: float = 1e-8) -> torch.Tensor:
    """``(..., channels, samples)`` pairs -> SI-SDR in dB ``(...)`` (higher is better)."""
    if zero_mean:  # each channel, as the metric
        estimates = estimates - estimates.mean(dim=-1, keepdim=True)
        references = references - references.mean(dim=-1, keepdim=True)
    e, s = estimates.flatten(-2), references.flatten(-2)
    scale = (e * s).sum(-1, keepdim=True) / ((s * s).sum(-1, keepdim=True) + eps)
    target = scale * s
    noise = e - target
    return 10 * torch.log10(((target**2).sum(-1) + eps) / ((noise**2).sum(-1) + eps))


def neg_si_sdr(estimates: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    return -si_sdr(estimates, references)


def l1(estimates: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    return (estimates - references).abs().mean(dim=(-2, -1))


_STFTS: dict[tuple[int, int], STFT] = {}


def _stft(n_fft: int, hop: int, x: torch.Tensor) -> torch.Tensor:
    key = (n_fft, hop)
    if key not in _STFTS:
        _STFTS[key] = STFT(n_fft, hop)
    return _STFTS[key].to(x.device)(x).abs()


def spectral_l1(estimates: torch.Tensor, references: torch.Tensor, n_fft: int = 1024,
                hop: int = 256) -> torch.Tensor:
    """Mean ``| |STFT(e)| - |STFT(s)| |`` per item and source."""
    return (_stft(n_fft, hop, estimates) - _stft(n_fft, hop, references)).abs().mean(
        dim=(-3, -2, -1))


RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def multi_resolution(estimates: torch.Tensor, references: torch.Tensor,
                     resolutions=RESOLUTIONS, eps: float = 1e-7) -> torch.Tensor:
    """Spectral convergence + log-magnitude L1, summed over ``resolutions`` (n_fft, hop)."""
    total = estimates.new_zeros(estimates.shape[:-2])
    for n_fft, hop in resolutions:
        e, s = _stft(n_fft, hop, estimates), _stft(n_fft, hop, references)
        convergence = torch.linalg.vector_norm((s - e).flatten(-3), dim=-1) / (
            torch.linalg.vector_norm(s.flatten(-3), dim=-1) + eps)
        log_l1 = (torch.log(e + eps) - torch.log(s + eps)).abs().mean(dim=(-3, -2, -1))
        total = total + convergence + log_l1
    return total / len(resolutions)


def discriminative(estimates: torch.Tensor, references: torch.Tensor, gamma: float = 0.05,
                   n_fft: int = 1024, hop: int = 256) -> torch.Tensor:
    """Huang et al.'s discriminative objective on STFT magnitudes: each source's squared error
    minus ``gamma`` times its squared distance to the other sources' references."""
    return magnitude_discriminative(_stft(n_fft, hop, estimates), _stft(n_fft, hop, references),
                                    gamma)


def thresholded_snr(estimates: torch.Tensor, references: torch.Tensor,
                    max_snr: float = 30.0) -> torch.Tensor:
    """SNR in dB ``(B, S)`` of ``(B, S, C, T)`` pairs, soft-capped at ``max_snr``:
    ``10 log10((|s|^2 + f) / (|s - e|^2 + tau |s|^2 + f))`` with ``tau = 10^(-max_snr/10)``
    and a floor ``f = tau |x|^2`` from the sum ``x`` of the references (the mixture when every
    source is given), so a silent source scores its leakage against the mixture's level.

    Not scale-invariant, as BSS Eval's SDR is not: a source that is too quiet or too loud
    loses. The loss is its negative.
    """
    tau = 10.0 ** (-max_snr / 10)
    power = (references**2).flatten(-2).sum(-1)  # (B, S)
    floor = tau * (references.sum(1, keepdim=True) ** 2).flatten(-2).sum(-1) + 1e-8
    error = ((references - estimates) ** 2).flatten(-2).sum(-1)
    return 10 * torch.log10((power + floor) / (error + tau * power + floor))


def neg_thresholded_snr(estimates: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    return -thresholded_snr(estimates, references)


def si_sdr_multires(estimates: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """``-SI-SDR / 10 + multi_resolution``: the waveform's scale-free fit and its spectra at
    three resolutions, both about 1 in size."""
    return neg_si_sdr(estimates, references) / 10 + multi_resolution(estimates, references)


#: Losses of waveforms ``(B, S, C, T)`` by name, as recipes name them.
LOSSES = {"si_sdr": neg_si_sdr, "snr": neg_thresholded_snr, "l1": l1, "spectral_l1": spectral_l1,
          "multi_resolution": multi_resolution, "discriminative": discriminative,
          "si_sdr_multires": si_sdr_multires}


def magnitude_l1(estimates: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Mean ``| |E| - |S| |`` of spectrograms or magnitudes ``(B, S, C, F, T)`` -> ``(B, S)``."""
    if estimates.is_complex():
        estimates, references = estimates.abs(), references.abs()
    return (estimates - references).abs().mean(dim=(-3, -2, -1))


def magnitude_discriminative(estimates: torch.Tensor, references: torch.Tensor,
                             gamma: float = 0.05) -> torch.Tensor:
    """Huang et al.'s discriminative objective on spectrogram magnitudes ``(B, S, C, F, T)``."""
    e, s = (estimates.abs(), references.abs()) if estimates.is_complex() else \
        (estimates, references)
    own = ((e - s) ** 2).mean(dim=(-3, -2, -1))
    if e.shape[1] < 2 or gamma == 0:
        return own
    others = torch.stack([((e[:, j : j + 1] - torch.cat([s[:, :j], s[:, j + 1:]], 1)) ** 2)
                          .mean(dim=(-3, -2, -1)).sum(1) for j in range(e.shape[1])], dim=1)
    return own - gamma * others


def magnitude_mse(estimates: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """Mean squared magnitude error ``(B, S)`` (the pairwise part of the discriminative
    objective)."""
    if estimates.is_complex():
        estimates, references = estimates.abs(), references.abs()
    return ((estimates - references) ** 2).mean(dim=(-3, -2, -1))


#: For losses that compare each estimate with the other sources too: their pairwise part,
#: which permutation-invariant training uses to choose the permutation.
PAIRWISE_PARTS = {"magnitude_discriminative": magnitude_mse}

#: Losses of magnitudes ``(B, S, C, F, T)`` by name (the ``magnitude`` domain).
MAGNITUDE_LOSSES = {"magnitude_l1": magnitude_l1, "magnitude_mse": magnitude_mse,
                    "magnitude_discriminative": magnitude_discriminative}
