"""Loss on a held-out split, batched, without gradients or host syncs per batch."""

from __future__ import annotations

import torch

from aekit.models.autoencoder import Autoencoder


@torch.inference_mode()
def mean_loss_terms(model: Autoencoder, images: torch.Tensor, batch_size: int = 1024,
                    step: int | None = None) -> dict[str, float]:
    """Mean per-image `loss` and each term over `images` (uint8 [N, C, H, W]),
    with the model in eval mode (no corruption, no dropout)."""
    sums: dict[str, torch.Tensor] = {}
    with model.evaluating():
        for start in range(0, len(images), batch_size):
            x = model.preprocess(images[start:start + batch_size])
            model.loss(x, step).accumulate(sums, len(x))
    n = max(len(images), 1)
    return {name: float(total) / n for name, total in sums.items()}
