"""One training step of a small DRNN on 4 examples, on one process (batch 4) or under
torchrun on two (batch 2 each); rank 0 writes the gradients it ends with to a JSON file.

    python tests/distributed_step.py DATA OUT.json
    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/distributed_step.py \
        DATA OUT.json
"""

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import torch

from unweave.data.loader import make_loader
from unweave.nn.models import build
from unweave.nn.train import distributed
from unweave.nn.train.loop import TrainConfig, Trainer
from unweave.nn.train.recipes import RECIPES, MusicData, music_task

data, out = sys.argv[1:3]
world = int(os.environ.get("WORLD_SIZE", "1"))
batch = 4 // world
task, _ = music_task(replace(RECIPES["drnn"], segment=0.5), MusicData([data], validation=0.25),
                     seed=0, on_skip=None)
torch.manual_seed(0)
model = build("drnn", {"hidden": 16, "layers": 1})
trainer = Trainer(model, task, TrainConfig(epochs=1, steps=1, batch=batch), Path(out), "drnn",
                  progress=False)
trainer.prepare()
mixture, references = next(iter(make_loader(task.examples, 0, 1, batch, trainer.ctx.rank,
                                            trainer.ctx.world_size)))
trainer.train_step(mixture, references)
if trainer.ctx.main:
    grads = {n: p.grad.reshape(-1).tolist()
             for n, p in trainer.model.named_parameters()}
    Path(out).write_text(json.dumps({"world_size": trainer.ctx.world_size, "batch": batch,
                                     "grads": grads}))
distributed.barrier(trainer.ctx)  # no rank leaves while another still talks
distributed.shutdown(trainer.ctx)
