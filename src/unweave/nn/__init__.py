"""Neural separators (torch).

- :mod:`.models`: architectures, registered by name; each carries its sources, rate, channels
  and front end (:mod:`.frontend`);
- :mod:`.checkpoint`: the plain-dict checkpoint, the contract between training and use;
- :mod:`.apply`: offline inference in overlapping segments; :mod:`.realtime`: causal models on
  live blocks;
- :mod:`.losses`, :mod:`.pit`: training objectives; :mod:`.train`: the loop, recipes,
  distributed training; :mod:`.device`: device names.

torch is imported only by the modules of this package, so the rest of unweave works without it.
"""
