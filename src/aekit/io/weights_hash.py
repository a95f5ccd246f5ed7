"""The content hash of a model's weights: one SHA-256 that names the numbers
a model computes with, whatever file they travel in.

model.json records it and loading checks it (a flipped bit in the weights is
caught); a compressed `.aek` file names its model by it, so decoding with
another model is refused.

The canonical byte stream that is hashed (version 1):

    b"aekit.weights.v1\\n"
    then, for each tensor of the state dict in order of its name (sorted by
    the names' UTF-8 bytes):
        b"<name>\\n<dtype>\\n<shape>\\n<nbytes>\\n" (UTF-8; dtype as torch
        prints it without the "torch." prefix, e.g. "float32"; shape as the
        sizes joined by ",", "" for a scalar; nbytes the data's length)
        then the tensor's data: its elements in C (row-major) order, each in
        little-endian byte order, as safetensors stores them.

The lengths make the framing unambiguous (no two state dicts give one
stream). The hash is of the values, not of the file: the same weights saved
twice, or with other safetensors metadata, hash the same.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

import torch
from torch import nn

PREFIX = b"aekit.weights.v1\n"


def state_hash(state: Mapping[str, torch.Tensor]) -> str:
    """The hex SHA-256 of a state dict's canonical byte stream (module docstring)."""
    digest = hashlib.sha256(PREFIX)
    for name in sorted(state, key=lambda n: n.encode("utf-8")):
        tensor = state[name].detach().to("cpu").contiguous()
        # The raw bytes: little-endian on every machine torch's CPU builds run on.
        data = tensor.reshape(-1).view(torch.uint8).numpy() if tensor.numel() else b""
        dtype = str(tensor.dtype).removeprefix("torch.")
        shape = ",".join(str(s) for s in tensor.shape)
        digest.update(f"{name}\n{dtype}\n{shape}\n{len(data)}\n".encode("utf-8"))
        digest.update(data)
    return digest.hexdigest()


def model_hash(model: nn.Module) -> str:
    """The content hash of a model's weights (its state dict), as model.json records it."""
    return state_hash(model.state_dict())
