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

from typing import NamedTuple

import torch

from aekit.data.memmap import release_pages
from aekit.models.autoencoder import Autoencoder
from aekit.rng import fixed_rng


def noise_seed(run_seed: int) -> int:
    """Validation's stream: neither the training stream (`run_seed`) nor any
    rank's (run_seed * 1_000_003 + 7919 * rank, distributed.seed_rank)."""
    return run_seed * 1_000_003 + 1_000_002


class Validation(NamedTuple):
    terms: dict[str, dict[str, float]]   # {"val": on-task terms} (+ {"val_clean": ...} for a denoiser)
    # The deterministic codes (a VAE's posterior means) of the clean images,
    # [N, code_dim], from the same pass: the run folder reports dead and
    # active code units from them without encoding the split a second time.
    codes: torch.Tensor | None


def validate(model: Autoencoder, images: torch.Tensor, batch_size: int = 1024,
             step: int | None = None, seed: int = 0) -> Validation:
    """The validation terms and the clean images' codes: see `validation_terms`."""
    groups = {"val": True, "val_clean": False} if model.corrupts_input else {"val": False}
    terms, codes = {}, []
    for prefix, corrupt in groups.items():
        terms[prefix] = mean_loss_terms(model, images, batch_size, step, seed, corrupt,
                                        codes=None if corrupt else codes)
    return Validation(terms, torch.cat(codes) if codes else None)


def validation_terms(model: Autoencoder, images: torch.Tensor, batch_size: int = 1024,
                     step: int | None = None, seed: int = 0) -> dict[str, dict[str, float]]:
    """{"val": on-task terms} plus, for a model with an input corruption,
    {"val_clean": the same terms on clean inputs}; each a dict of mean
    per-image `loss` and loss terms over `images` (uint8 [N, C, H, W]), in
    eval mode (no dropout), with the fixed noise of `seed` (the run's seed)."""
    return validate(model, images, batch_size, step, seed).terms


@torch.inference_mode()
def mean_loss_terms(model: Autoencoder, images: torch.Tensor, batch_size: int = 1024,
                    step: int | None = None, seed: int = 0, corrupt: bool = False,
                    codes: list[torch.Tensor] | None = None) -> dict[str, float]:
    """Mean per-image `loss` and each term over `images`, in eval mode, the
    inputs corrupted if `corrupt`, with the fixed noise of `seed`; each
    batch's deterministic codes appended to `codes` when given."""
    sums: dict[str, torch.Tensor] = {}
    # The model's device: a memory-mapped split stays on the CPU (aekit.data.memmap).
    device = next(model.parameters()).device
    with model.evaluating(), fixed_rng(noise_seed(seed), device):
        for start in range(0, len(images), batch_size):
            x = model.preprocess(images[start:start + batch_size].to(device))
            release_pages(images)   # a memory-mapped split: keep only a batch resident
            out = model.loss(x, step, corrupt=corrupt)
            out.accumulate(sums, len(x))
            if codes is not None:
                codes.append(out.code)
    n = max(len(images), 1)
    return {name: float(total) / n for name, total in sums.items()}
