"""Validation: the loss on a held-out split, on the model's task, batched,
without gradients or host syncs per batch.

A model trained with an input corruption (a denoising AE) is validated on
what it is trained for: the corrupted validation images in, scored against
the clean ones ("val_*"). Its loss on clean inputs is reported beside it
("val_clean_*") but watched by nothing: a denoiser's clean-input loss can
rise while it learns to denoise (`aekit train --preset dae --data mnist
--epochs 2`: train loss 239.4 -> 197.1), so the best model, early stopping
and the plateau schedule followed a wrong figure when that was val_loss. With the full split, seed 0:
val_loss (on task) 204.8 -> 189.2, val_clean_loss 264.0 -> 266.2 (measured
on the 2-core AMD EPYC, 2026-11-30).

Validation draws its noise (the corruption, a VAE's sampled codes) from a
stream of its own seeded by the run's seed (aekit.rng.fixed_rng): the same
noise every epoch, after a resume and on every rank (each rank validates on
the whole split, so all ranks see the same figure and stop together), and
the training stream is left untouched.
"""

from __future__ import annotations

import torch

from aekit.models.autoencoder import Autoencoder
from aekit.rng import fixed_rng


def noise_seed(run_seed: int) -> int:
    """Validation's stream: neither the training stream (`run_seed`) nor any
    rank's (run_seed * 1_000_003 + 7919 * rank, distributed.seed_rank)."""
    return run_seed * 1_000_003 + 1_000_002


def validation_terms(model: Autoencoder, images: torch.Tensor, batch_size: int = 1024,
                     step: int | None = None, seed: int = 0) -> dict[str, dict[str, float]]:
    """{"val": on-task terms} plus, for a model with an input corruption,
    {"val_clean": the same terms on clean inputs}; each a dict of mean
    per-image `loss` and loss terms over `images` (uint8 [N, C, H, W]), in
    eval mode (no dropout), with the fixed noise of `seed` (the run's seed)."""
    groups = {"val": True, "val_clean": False} if model.corrupts_input else {"val": False}
    return {prefix: mean_loss_terms(model, images, batch_size, step, seed, corrupt)
            for prefix, corrupt in groups.items()}


@torch.inference_mode()
def mean_loss_terms(model: Autoencoder, images: torch.Tensor, batch_size: int = 1024,
                    step: int | None = None, seed: int = 0, corrupt: bool = False) -> dict[str, float]:
    """Mean per-image `loss` and each term over `images`, in eval mode, the
    inputs corrupted if `corrupt`, with the fixed noise of `seed`."""
    sums: dict[str, torch.Tensor] = {}
    with model.evaluating(), fixed_rng(noise_seed(seed), images.device):
        for start in range(0, len(images), batch_size):
            x = model.preprocess(images[start:start + batch_size])
            model.loss(x, step, corrupt=corrupt).accumulate(sums, len(x))
    n = max(len(images), 1)
    return {name: float(total) / n for name, total in sums.items()}
