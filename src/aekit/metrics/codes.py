"""What a code uses of its units: dead units of a deterministic code, active
units of a VAE's.

A unit is *dead* on a split when it takes exactly one value on every image of
it (0 for a ReLU code unit whose input is negative everywhere): it carries no
information, and a ReLU unit in that state gets no gradient either, so it
never recovers. A VAE unit is *active* when the variance over the data of its
posterior mean exceeds 0.01 (Burda et al., 2016, "Importance Weighted
Autoencoders", section 5.2): below that, q(z|x) is nearly the same for every
image and the unit has collapsed to the prior."""

from __future__ import annotations

import torch

from aekit.models.autoencoder import Autoencoder

ACTIVE_VARIANCE = 0.01


@torch.inference_mode()
def encode_images(model: Autoencoder, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The deterministic codes (a VAE's posterior means) of `images` (uint8
    [N, C, H, W], on the model's device), eval mode, batched: [N, code_dim]."""
    with model.evaluating():
        return torch.cat([model.encode(model.preprocess(images[i:i + batch_size]))
                          for i in range(0, len(images), batch_size)])


def dead_code_mask(codes: torch.Tensor) -> torch.Tensor:
    """[D] booleans: True where a unit of `codes` [N, D] is exactly constant over the N images."""
    if len(codes) == 0:
        return torch.zeros(codes.shape[1], dtype=torch.bool, device=codes.device)
    return codes.amax(0) == codes.amin(0)


def dead_code_units(codes: torch.Tensor) -> int:
    """How many units of `codes` [N, D] are exactly constant over the N images."""
    return int(dead_code_mask(codes).sum())


def active_units(means: torch.Tensor, threshold: float = ACTIVE_VARIANCE) -> int:
    """How many units of posterior means [N, D] vary over the N images by more
    than `threshold` (variance, Burda et al.'s 0.01)."""
    if len(means) < 2:
        return 0
    return int((means.to(torch.float64).var(0) > threshold).sum())
