"""Reconstruction error of any model, in one unit for all of them: the sum of
squared errors per image on [0, 1] pixels. Models differ in data range
(tanh models work on [-1, 1]) and in loss unit (nats vs squared error), so
their own losses are not comparable; this number is."""

from __future__ import annotations

import torch

from aekit.cpu import flushing_denormals
from aekit.models.autoencoder import Autoencoder


@torch.inference_mode()
@flushing_denormals()   # as in training: no slow path on Intel CPUs
def reconstruct(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Reconstructions in [0, 1] (eval mode: no corruption, no dropout), on the CPU."""
    device = next(model.parameters()).device
    with model.evaluating():
        out = [model.to_unit(model(model.preprocess(images[i:i + batch_size].to(device)))).cpu()
               for i in range(0, len(images), batch_size)]
    return torch.cat(out)


def squared_error_per_image(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean over `images` (uint8 [N, C, H, W]) of Σ_pixels (x - x̂)², x in [0, 1]."""
    x = images.to(torch.float32) / 255.0 if images.dtype == torch.uint8 else images.to(torch.float32)
    err = (reconstruct(model, images, batch_size) - x) ** 2
    return float(err.flatten(1).sum(1).mean())
