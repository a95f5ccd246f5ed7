"""Files in and out: model files (safetensors + JSON, never pickle), their
content hash, ONNX export, images."""

from aekit.io.model_file import load_model, read_model_meta, save_model
from aekit.io.onnx_export import export_onnx
from aekit.io.weights_hash import model_hash, state_hash

__all__ = ["export_onnx", "load_model", "model_hash", "read_model_meta", "save_model", "state_hash"]
