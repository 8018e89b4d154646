"""One training loop for every separation network.

What varies between networks comes in a :class:`Task`: the example set, the loss (per item and
source, from :mod:`unweave.nn.losses`, optionally permutation-invariant), which sources it
scores, and a validation score (higher is better). The loop does the rest the same way for all:
Adam, an optional learning-rate schedule, gradient clipping, mixed precision on CUDA, an
optional adversary (:mod:`unweave.nn.train.adversarial`), an optional exponential moving
average of the weights (the weights validated and shipped; Polyak & Juditsky 1992, as Demucs
trains), distributed data parallelism
(:mod:`unweave.nn.train.distributed`), validation after each epoch, and checkpoints
(:mod:`unweave.nn.checkpoint`) every ``checkpoint_every`` steps and at each epoch's end, with
everything a resume needs (optimiser, scheduler, random-number and adversary states, the step).
A resumed run continues exactly where the checkpoint was written: the same examples (they are
numbered, :mod:`unweave.data.loader`), the same dropout draws, the same loss curve.

``out`` is the latest checkpoint; ``<out>.best.pt`` (weights only) the one with the best
validation score so far.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from unweave.errors import UnweaveError
from unweave.nn import checkpoint
from unweave.nn.train import distributed


@dataclass
class TrainConfig:
    epochs: int = 10
    steps: int = 100  # optimiser steps per epoch
    batch: int = 8  # examples per step and process
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_grad: float = 0.0  # largest gradient norm (0: no clipping)
    scheduler: str = "none"  # "none", "plateau" (halve after `patience` flat epochs), "cosine"
    patience: int = 3
    seed: int = 0
    device: str = "cpu"
    workers: int = 0  # DataLoader worker processes
    checkpoint_every: int = 0  # steps between checkpoints within an epoch (0: epoch ends only)
    amp: bool = True  # bfloat16 autocast on CUDA (ignored on the CPU)
    max_minutes: float = 0.0  # stop after the first epoch that ends past this (0: no limit)
    ema: float = 0.0  # decay per step of a moving average of the weights (0: none)
    ema_warmup: bool = True  # False: the average starts at the model's weights at full decay
    # (a fine-tune from --init, whose weights are worth keeping; the warm-up is for random ones)


@dataclass
class Task:
    """What one network's training needs besides the loop."""

    examples: object  # examples[i] -> (mixture, sources)
    loss: Callable  # (estimates, references) (B, S, C, T) -> (B, S)
    validate: Callable  # (model, device) -> score, higher is better
    loss_sources: tuple[int, ...] | None = None  # sources the loss scores (None: all)
    pit: bool = False  # permutation-invariant loss (talkers)
    pit_pairwise: Callable | None = None  # PIT: the pairwise part choosing the permutation
    domain: str = "waveform"  # or "magnitude": a mask model's masked magnitudes are scored
    wrap: Callable | None = None  # model -> what a step runs around it (a Wiener filter)
    info: dict = field(default_factory=dict)  # command, data, split: kept in the checkpoint


SCHEDULERS = ("none", "plateau", "cosine")


class MagnitudeView(torch.nn.Module):
    """A mask network seen through its own STFT, for training in the ``magnitude`` domain:
    ``(mixture (B, C, T), references (B, S, C, T))`` -> the masked mixture magnitudes and
    the references' magnitudes, each ``(B, S, C, freqs, frames)``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, mixture: torch.Tensor, references: torch.Tensor):
        return self.model.magnitudes(mixture), self.model.stft(references).abs()


#: Steps in a row with a non-finite gradient before training stops with an error.
MAX_SKIPPED = 50


def _mean(values: list[float]) -> float:
    """Mean of the finite losses (skipped steps are NaN); NaN when there is none."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def warm_ema(decay: float):
    """The moving-average update of :class:`torch.optim.swa_utils.AveragedModel` with a
    warm-up: after ``n`` updates the decay is ``min(decay, (1 + n) / (10 + n))`` (as
    TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``), so an average started from
    random weights forgets them within a few hundred steps rather than thousands."""
    import torch

    @torch.no_grad()
    def update(averaged: list, current: list, n) -> None:
        if not (averaged[0].is_floating_point() or averaged[0].is_complex()):
            for a, c in zip(averaged, current):  # counters (batch norm's): the model's own
                a.copy_(c)
            return
        steps = float(n)
        rate = min(decay, (1 + steps) / (10 + steps))
        torch._foreach_lerp_(averaged, current, 1 - rate)

    return update


def _scheduler(name: str, optimizer, config: TrainConfig):
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                          patience=config.patience)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if name != "none":
        raise UnweaveError(f"unknown scheduler {name!r} (known: {', '.join(SCHEDULERS)})")
    return None


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def best_path(out: Path) -> Path:
    return out.with_name(out.stem + ".best" + (out.suffix or ".pt"))


class Trainer:
    """The state of one training run (model, optimiser, history...) and its steps."""

    def __init__(self, model, task: Task, config: TrainConfig, out: Path, recipe: str,
                 adversary=None, progress: bool = True):
        from unweave.nn.device import resolve_device

        self.ctx = distributed.setup(resolve_device(config.device))
        self.task, self.config, self.out, self.recipe = task, config, out, recipe
        self.adversary, self.progress = adversary, progress and self.ctx.main
        torch.manual_seed(config.seed)
        self.model = model.to(self.ctx.device)
        self.net = self.model  # what a step runs: the model, a view of it, wrapped for DDP
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr,
                                          weight_decay=config.weight_decay)
        self.scheduler = _scheduler(config.scheduler, self.optimizer, config)
        self.ema = None
        if config.ema:
            from torch.optim.swa_utils import AveragedModel

            self.ema = AveragedModel(self.model, multi_avg_fn=warm_ema(config.ema),
                                     use_buffers=True)
            if not config.ema_warmup:  # as if warmed up: the starting weights count in full
                self.ema.n_averaged.fill_(math.ceil((10 * config.ema - 1) / (1 - config.ema)))
        self.history: dict[str, list] = {"loss": [], "step_loss": [], "validation": [],
                                         "lr": [], "seconds": []}
        self.epoch = self.step = 0  # the next step to run
        self.elapsed = 0.0
        self.skipped = 0  # steps in a row whose gradient was not finite (not applied)
        self.best = -np.inf
        if adversary is not None:
            adversary.to(self.ctx.device)

    @property
    def shipped(self):
        """The weights validated and saved as the model: the moving average, if any."""
        return self.ema.module if self.ema is not None else self.model

    # --- checkpoints ------------------------------------------------------------------------

    def training_entry(self) -> dict:
        c = self.config
        return {**self.task.info, "recipe": self.recipe, "epoch": self.epoch,
                "step": self.step, "history": self.history, "config": asdict(c),
                "world_size": self.ctx.world_size, "batch": c.batch,
                "effective_batch": c.batch * self.ctx.world_size, "seconds": self.elapsed,
                "best_validation":
                float(self.best) if np.isfinite(self.best) else None}

    def save(self) -> None:
        if not self.ctx.main:
            return
        resume = {"optimizer": self.optimizer.state_dict(), "rng": _rng_state(),
                  "scheduler": self.scheduler.state_dict() if self.scheduler else None}
        if self.adversary is not None:
            resume["adversary"] = self.adversary.state_dict()
        if self.ema is not None:  # the state_dict holds the average; training goes on from:
            resume["model"] = checkpoint.weights(self.model)
            resume["ema_steps"] = int(self.ema.n_averaged)
        checkpoint.save(self.out, checkpoint.make(self.shipped, self.recipe,
                                                  self.training_entry(), resume))

    def restore(self) -> None:
        data = checkpoint.load(self.out)
        model = self.model
        try:
            why = checkpoint.mismatch(data, model)
            if why:
                raise ValueError(why)
            if data.get("recipe") != self.recipe:
                raise ValueError(f"it was trained by '{data.get('recipe')}', not "
                                 f"'{self.recipe}'")
            resume = data["resume"]
            model.load_state_dict(resume.get("model", data["state_dict"]))
            if self.ema is not None:
                self.ema.module.load_state_dict(data["state_dict"] if "model" in resume
                                                else model.state_dict())
                self.ema.n_averaged.fill_(int(resume.get("ema_steps", 0)))
            self.optimizer.load_state_dict(resume["optimizer"])
            if self.scheduler is not None and resume.get("scheduler"):
                self.scheduler.load_state_dict(resume["scheduler"])
            if self.adversary is not None and "adversary" in resume:
                self.adversary.load_state_dict(resume["adversary"])
            _set_rng_state(resume["rng"])
            training = data["training"]
            self.history = {k: list(v) for k, v in training["history"].items()}
            self.epoch, self.step = int(training["epoch"]), int(training["step"])
            self.elapsed = float(training.get("seconds", 0.0))
            best = training.get("best_validation")
            self.best = -np.inf if best is None else float(best)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise UnweaveError(f"{self.out}: cannot resume from it: not a checkpoint of this "
                               f"model and settings ({type(exc).__name__}: "
                               f"{(str(exc).splitlines() or [''])[0][:160]})") from None

    # --- steps -------------------------------------------------------------------------------

    def autocast(self):
        if self.config.amp and self.ctx.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def loss(self, mixture: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
        if self.task.domain == "magnitude":
            estimates, references = self.net(mixture, references)
        else:
            estimates = self.net(mixture).float()
        if self.task.pit:
            from unweave.nn.pit import PIT

            if self.task.pit_pairwise is not None:
                pit = PIT(self.task.pit_pairwise, total=self.task.loss)
            else:
                pit = PIT(self.task.loss)
            per_item, _ = pit(estimates, references)
            return per_item.mean()
        per = self.task.loss(estimates, references)  # (B, S)
        if self.task.loss_sources is not None:
            per = per[:, list(self.task.loss_sources)]
        return per.mean()

    def train_step(self, mixture: torch.Tensor, references: torch.Tensor) -> float:
        device = self.ctx.device
        mixture, references = mixture.to(device), references.to(device)
        with self.autocast():
            loss = self.loss(mixture, references)
            if self.adversary is not None:
                index = ((self.epoch * self.config.steps + self.step) * self.ctx.world_size
                         + self.ctx.rank) * self.config.batch
                loss = loss + self.adversary.weight * self.adversary.separator_loss(
                    self.model, self.config.batch, index)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # The norm of the (all-reduced) gradient: every rank takes the same decision.
        norm = torch.nn.utils.clip_grad_norm_(
            self.model.parameters(), self.config.clip_grad if self.config.clip_grad > 0
            else float("inf"))
        if not torch.isfinite(norm):  # an overflow: this step is skipped, the weights kept
            self.optimizer.zero_grad(set_to_none=True)
            self.skipped += 1
            if self.skipped >= MAX_SKIPPED:
                raise UnweaveError(f"training diverged: {self.skipped} steps in a row with a "
                                   "non-finite gradient (try a smaller --lr)")
            return float("nan")
        self.skipped = 0
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        return float(loss.detach())

    def validate(self) -> float:
        score = float("nan")
        if self.ctx.main:
            model = self.shipped.eval()
            with torch.no_grad():
                score = float(self.task.validate(model, self.ctx.device))
        return distributed.from_main(score, self.ctx)

    def prepare(self) -> None:
        """What a step runs: the model (or its spectrogram view), in DDP when distributed."""
        view = MagnitudeView(self.model) if self.task.domain == "magnitude" else self.model
        if self.task.wrap is not None:
            view = self.task.wrap(view)
        self.net = distributed.wrap(view, self.ctx)
        if self.adversary is not None:
            self.adversary.wrap(self.ctx)

    def run(self) -> dict:
        from tqdm import tqdm

        from unweave.data.loader import make_loader

        c = self.config
        self.prepare()
        start = time.perf_counter() - self.elapsed
        while self.epoch < c.epochs:
            self.net.train()
            loader = make_loader(self.task.examples, self.epoch, c.steps, c.batch,
                                 self.ctx.rank, self.ctx.world_size, self.step, c.workers,
                                 c.seed)
            bar = tqdm(total=c.steps, initial=self.step, file=sys.stderr, leave=False,
                       desc=f"epoch {self.epoch + 1}/{c.epochs}", disable=not self.progress)
            epoch_losses = self.history["step_loss"][len(self.history["step_loss"]) - self.step:]
            for mixture, references in loader:
                value = distributed.mean_over_ranks(self.train_step(mixture, references),
                                                    self.ctx)
                self.history["step_loss"].append(value)
                epoch_losses.append(value)
                self.step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{_mean(epoch_losses[-20:]):.4f}")
                if c.checkpoint_every and self.step % c.checkpoint_every == 0 \
                        and self.step < c.steps:
                    self.elapsed = time.perf_counter() - start
                    self.save()
            bar.close()
            score = self.validate()
            self.history["loss"].append(_mean(epoch_losses))
            self.history["validation"].append(score)
            self.history["lr"].append(self.optimizer.param_groups[0]["lr"])
            self.elapsed = time.perf_counter() - start
            self.history["seconds"].append(self.elapsed)
            if self.scheduler is not None:
                if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    self.scheduler.step(score if np.isfinite(score) else -np.inf)
                else:
                    self.scheduler.step()
            self.epoch, self.step = self.epoch + 1, 0
            improved = np.isfinite(score) and score > self.best
            if improved:
                self.best = score
            self.save()
            if improved and self.ctx.main:
                checkpoint.save(best_path(self.out), checkpoint.make(
                    self.shipped, self.recipe, self.training_entry()))
            if self.progress:
                print(f"epoch {self.epoch}/{c.epochs}: loss {self.history['loss'][-1]:.4f}, "
                      f"validation {score:.2f}{' (best)' if improved else ''}",
                      file=sys.stderr)
            if c.max_minutes and self.elapsed > 60 * c.max_minutes:
                break
        distributed.barrier(self.ctx)
        return self.history


def train(model, task: Task, config: TrainConfig, out: str | Path, recipe: str,
          resume: bool = False, adversary=None, progress: bool = True) -> dict:
    """Train ``model`` on ``task``, checkpointing to ``out``; returns the history.

    With ``resume`` and an existing ``out``, continue it (same model, settings and recipe)."""
    run = Trainer(model, task, config, Path(out), recipe, adversary, progress)
    try:
        if resume and Path(out).exists():
            run.restore()
        return run.run()
    finally:
        distributed.shutdown(run.ctx)
