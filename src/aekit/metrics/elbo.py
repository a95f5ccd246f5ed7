"""The evidence lower bound of a VAE on held-out images.

ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)), estimated with one sample of
z per image: it is minus the model's (beta = 1) loss. With the plain squared
error "likelihood" it is minus (squared error + KL), the tutorials' objective
rather than a bound in nats; the comparison over training is still valid."""

from __future__ import annotations

import torch

from aekit.cpu import flushing_denormals
from aekit.models.autoencoder import Autoencoder
from aekit.rng import fixed_rng


@torch.inference_mode()
@flushing_denormals()   # as in training: no slow path on Intel CPUs
def elbo(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean per-image {"elbo", "recon", "kl"} over `images` (uint8), eval mode,
    with a fixed seed for the sampled codes so two calls compare fairly."""
    device = next(model.parameters()).device
    sums = {"recon": 0.0, "kl": 0.0}
    with model.evaluating(), fixed_rng(seed, device):   # the caller's random streams untouched
        for i in range(0, len(images), batch_size):
            # samples=1: the ELBO's terms, whatever objective the model trained on
            terms = model.loss(model.preprocess(images[i:i + batch_size].to(device)), samples=1).terms
            for name in sums:
                sums[name] += float(terms[name].sum())
    out = {name: total / len(images) for name, total in sums.items()}
    out["elbo"] = -(out["recon"] + out["kl"])
    return out
