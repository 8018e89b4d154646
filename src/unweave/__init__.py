"""unweave: sound source separation behind one interface.

Arrays follow one layout everywhere: time signals ``(..., channels, samples)``,
spectrograms ``(..., channels, freqs, frames)``.
"""

from unweave.audio import read_audio, write_audio
from unweave.errors import UnweaveError
from unweave.methods import Separation, available_methods, get_method

__version__ = "0.1.0"
__all__ = [
    "Separation",
    "UnweaveError",
    "available_methods",
    "get_method",
    "read_audio",
    "write_audio",
    "__version__",
]
