"""Separation networks, one module per architecture, registered by name (like methods/).

>>> from unweave.nn.models import build
>>> build("unet", {"channels": [4, 8]}).sources
('vocals', 'accompaniment')
"""

from unweave.nn.models import bandgru, bsrnn, convtasnet, drnn, umx, unet  # noqa: F401 - they register themselves
from unweave.nn.models.base import MODELS, ModelOption, SeparationModel, build, register_model

__all__ = ["MODELS", "ModelOption", "SeparationModel", "build", "register_model"]
