"""Files in and out: model files (safetensors + JSON, never pickle), images."""

from aekit.io.model_file import load_model, save_model

__all__ = ["load_model", "save_model"]
