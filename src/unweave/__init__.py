"""unweave: sound source separation behind one interface.

Arrays follow one layout everywhere: time signals ``(..., channels, samples)``,
spectrograms ``(..., channels, freqs, frames)``.
"""

from unweave.errors import UnweaveError

__version__ = "0.1.0"

#: What ``from unweave import X`` gives, imported on first use (start-up stays fast).
_LAZY = {"read_audio": "unweave.audio", "write_audio": "unweave.audio",
         "Separation": "unweave.methods", "available_methods": "unweave.methods",
         "get_method": "unweave.methods"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'unweave' has no attribute {name!r}")
__all__ = [
    "Separation",
    "UnweaveError",
    "available_methods",
    "get_method",
    "read_audio",
    "write_audio",
    "__version__",
]
