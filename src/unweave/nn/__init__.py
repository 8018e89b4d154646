"""Neural separators (torch): models, features, checkpoints, training and chunked inference.

torch is imported only by the modules of this package, so the rest of unweave works without it.
"""
