"""Training a mask network on paired data: L1 loss on masked magnitudes, validation SDR,
checkpoints every epoch, resume after an interruption."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unweave.data.datasets import ExcerptSampler, Track
from unweave.errors import UnweaveError
from unweave.metrics import framewise_sdr
from unweave.nn.features import SAMPLE_RATE, STFT, magnitude_features


@dataclass
class TrainConfig:
    model: str = "unet"
    model_args: dict = field(default_factory=dict)
    epochs: int = 10
    steps: int = 100  # batches per epoch
    batch: int = 8
    frames: int = 128  # excerpt length in STFT frames
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    adversarial: float = 0.0  # weight of the adversarial loss (needs unpaired data)


def resolve_device(name: str) -> str:
    """"auto", "cpu", "cuda" or "cuda:N" -> a torch device name that exists here."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name != "cpu" and not re.fullmatch(r"cuda(:\d+)?", name):
        raise UnweaveError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N")
    if name.startswith("cuda"):
        index = int(name.partition(":")[2] or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise UnweaveError(f"--device {name}: no such CUDA device here")
    return name


def validation_sdr(model, tracks: list[Track], device: str, seconds: float = 10.0) -> float:
    """Mean over tracks of the median 1 s vocals SDR, on each track's first ``seconds``."""
    from unweave.nn.inference import vocals_of

    scores = []
    for t in tracks:
        n = int(min(len(t.vocals), seconds * SAMPLE_RATE))
        mix = (t.vocals[:n] + t.accompaniment[:n])[None]
        est = vocals_of(model, mix, device)
        scores.append(np.nanmedian(framewise_sdr(t.vocals[None, None, :n], est[None],
                                                 SAMPLE_RATE)))
    return float(np.mean(scores))


def train(config: TrainConfig, train_tracks: list[Track], val_tracks: list[Track],
          out: str | Path, resume: bool = False, progress: bool = True,
          unpaired=None) -> dict:
    """Train and checkpoint to ``out`` after every epoch; returns the history.

    With ``unpaired`` data (:class:`unweave.data.datasets.Unpaired`) and
    ``config.adversarial > 0``, each step also trains a discriminator to tell real isolated
    vocals from the separator's vocals on unpaired mixtures, and adds the separator's
    adversarial (least-squares GAN) loss to the paired L1 loss (Stoller et al., ICASSP 2018).
    """
    import torch
    from tqdm import tqdm

    from unweave.nn import checkpoint
    from unweave.nn.models import build

    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    model = build(config.model, dict(config.model_args)).to(device)
    optim = torch.optim.Adam(model.parameters(), lr=config.lr)
    history = {"loss": [], "val_sdr": [], "seconds": []}
    start_epoch = 0
    out = Path(out)
    if resume and out.exists():
        data = checkpoint.load(out)
        try:
            model.load_state_dict(data["state_dict"])
            if "optimizer" in data:
                optim.load_state_dict(data["optimizer"])
            history = data["training"]["history"]
            start_epoch = int(data["training"]["epoch"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise UnweaveError(f"{out}: cannot resume from it: not a checkpoint of this model "
                               f"and settings ({type(exc).__name__}: "
                               f"{(str(exc).splitlines() or [''])[0][:120]})") from None
    samples = (config.frames - 1) * STFT.hop
    sampler = ExcerptSampler(train_tracks, samples, seed=config.seed + start_epoch)
    adversary = None
    if unpaired is not None and config.adversarial > 0:
        from unweave.nn.models import Discriminator

        adversary = Discriminator().to(device)
        optim_d = torch.optim.Adam(adversary.parameters(), lr=config.lr)
        rng = np.random.default_rng(config.seed + 1000 + start_epoch)
    t0 = time.perf_counter()
    for epoch in range(start_epoch, config.epochs):
        model.train()
        losses = []
        bar = tqdm(range(config.steps), desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=not progress, file=sys.stderr, leave=False)
        for _ in bar:
            mix, voc = sampler.batch(config.batch)
            from unweave.spectral import stft

            mix_spec, voc_spec = stft(mix, STFT), stft(voc, STFT)
            feats = torch.from_numpy(magnitude_features(mix_spec)).to(device)
            mix_mag = torch.from_numpy(np.abs(mix_spec[:, :512]).astype(np.float32)).to(device)
            voc_mag = torch.from_numpy(np.abs(voc_spec[:, :512]).astype(np.float32)).to(device)
            frames = feats.shape[-1] - feats.shape[-1] % getattr(model, "multiple", 1)
            mask = model(feats[..., :frames])
            loss = torch.mean(torch.abs(mask * mix_mag[..., :frames] - voc_mag[..., :frames]))
            if adversary is not None:
                loss = loss + config.adversarial * _adversarial_step(
                    model, adversary, optim_d, unpaired, rng, config.batch, samples, frames,
                    device)
            optim.zero_grad()
            loss.backward()
            optim.step()
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        model.eval()
        val = validation_sdr(model, val_tracks, device) if val_tracks else float("nan")
        history["loss"].append(float(np.mean(losses)))
        history["val_sdr"].append(val)
        history["seconds"].append(time.perf_counter() - t0)
        if progress:
            print(f"epoch {epoch + 1}/{config.epochs}: loss {history['loss'][-1]:.4f}, "
                  f"validation SDR {val:.2f} dB", file=sys.stderr)
        checkpoint.save(out, model, config.model, dict(config.model_args),
                        {"epoch": epoch + 1, "history": history, "config": vars(config),
                         "train_tracks": [t.name for t in train_tracks],
                         "val_tracks": [t.name for t in val_tracks]},
                        optim.state_dict())
    return history


def _adversarial_step(model, adversary, optim_d, unpaired, rng, batch, samples, frames, device):
    """Update the discriminator once; return the separator's adversarial loss (LSGAN)."""
    import torch

    from unweave.data.datasets import random_excerpts
    from unweave.spectral import stft

    mixes = random_excerpts(unpaired.mixtures, batch, samples, rng)
    real = random_excerpts(unpaired.vocals, batch, samples, rng)
    mix_spec = stft(mixes, STFT)
    feats = torch.from_numpy(magnitude_features(mix_spec)[..., :frames]).to(device)
    mix_mag = torch.from_numpy(np.abs(mix_spec[:, :512, :frames]).astype(np.float32)).to(device)
    fake = torch.log1p(model(feats) * mix_mag)  # separator's vocals, as features
    real_feats = torch.from_numpy(magnitude_features(stft(real, STFT))[..., :frames]).to(device)
    d_loss = torch.mean((adversary(real_feats) - 1) ** 2) + torch.mean(adversary(fake.detach())
                                                                        ** 2)
    optim_d.zero_grad()
    d_loss.backward()
    optim_d.step()
    return torch.mean((adversary(fake) - 1) ** 2)
