"""Training: one loop (:mod:`.loop`), recipes of what to train (:mod:`.recipes`), distributed
data parallelism under torchrun (:mod:`.distributed`), adversarial training
(:mod:`.adversarial`). Inference never imports this package."""
