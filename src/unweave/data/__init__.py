"""Data: lazy indexes of tracks and recordings, examples mixed on the fly, augmentation,
the torch DataLoader, and mixture simulation for the blind methods (:mod:`unweave.data.mixing`).
"""
