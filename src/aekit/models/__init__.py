"""Models composed of parts, and the named presets."""

from aekit.models.autoencoder import Autoencoder, Loss
from aekit.models.config import ModelConfig

__all__ = ["Autoencoder", "Loss", "ModelConfig"]
