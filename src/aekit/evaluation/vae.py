"""The VAE section (a stochastic bottleneck with a KL term): the ELBO and its
two parts, the KL per latent dimension, the active units, and the
importance-sampled negative log-likelihood.

  elbo, recon, kl     aekit.metrics.elbo: one sampled code per image, mean over images
  kl_per_dim          KL(q(z_d|x) || N(0, 1)) per latent dimension d, mean over
                      images (Gaussian bottleneck; sums to `kl`)
  active_units        aekit.metrics.active_units of the posterior means (variance > 0.01)
  nll                 aekit.metrics.nll.importance_sampled_nll with k samples,
                      mean over images, in nats (likelihoods in nats only)
"""

from __future__ import annotations

import torch

from aekit.data.memmap import release_pages
from aekit.errors import AekitError
from aekit.evaluation.shards import Chunk, chunk_seed, gather_chunks, reduce_sums
from aekit.metrics.codes import active_units
from aekit.metrics.elbo import elbo
from aekit.metrics.nll import importance_sampled_nll
from aekit.models.autoencoder import Autoencoder
from aekit.nn.bottlenecks import Gaussian


def applies(model: Autoencoder) -> bool:
    """A stochastic code regularised by a KL term: the models with an ELBO."""
    return model.bottleneck.stochastic and any(reg.name == "kl" for reg in model.regularisers)


def nll_applies(model: Autoencoder) -> bool:
    """The NLL is a likelihood in nats: a plain squared-error "likelihood" has none."""
    return applies(model) and model.likelihood.unit == "nats"


def check_nll(model: Autoencoder, nll_samples: int | None) -> int:
    """The number of importance samples to use: 0 for none. None (the
    default) means 1000 where the NLL applies; an explicit k on a model
    without an NLL is an error, not a silently absent field."""
    if nll_samples is None:
        return 1000 if nll_applies(model) else 0
    if nll_samples < 0:
        raise AekitError(f"nll_samples must be >= 0 (0: no NLL), got {nll_samples}")
    if nll_samples > 0 and not nll_applies(model):
        why = ("its likelihood is a plain squared error, not a density in nats" if applies(model)
               else "it is not a VAE (no stochastic code with a KL term)")
        raise AekitError(f"cannot estimate the NLL of this model: {why}; leave out --nll-samples")
    return nll_samples


def section(model: Autoencoder, split_images: torch.Tensor, chunks: list[Chunk], seed: int,
            nll_samples: int) -> tuple[dict, torch.Tensor | None]:
    """The section, and the per-image NLL (float64 [N], every rank's chunks
    gathered in the split's order) for the anomaly scores; None without NLL."""
    device = next(model.parameters()).device
    dim = model.code_dim
    gaussian = isinstance(model.bottleneck, Gaussian)
    sums = {"recon": 0.0, "kl": 0.0, "nll": 0.0}
    kl_dims = torch.zeros(dim, dtype=torch.float64)
    means, nlls = [], []
    for c in chunks:
        images = split_images[c.start:c.stop]
        part = elbo(model, images, batch_size=len(images), seed=chunk_seed(seed, "elbo", c.index))
        sums["recon"] += part["recon"] * len(images)
        sums["kl"] += part["kl"] * len(images)
        with model.evaluating():
            code = model.bottleneck(model.encoder(model.preprocess(images.to(device))), sample=False)
        mean = code.mean.to("cpu", torch.float64)
        means.append(mean)
        if gaussian:
            logvar = code.logvar.to("cpu", torch.float64)
            kl_dims += 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(0)
        if nll_samples:
            nll = importance_sampled_nll(model, images.to(device), nll_samples,
                                         seed=chunk_seed(seed, "nll", c.index))
            nll = nll.to("cpu", torch.float64)
            sums["nll"] += float(nll.sum())
            nlls.append(nll.unsqueeze(1))
        release_pages(split_images)   # a memory-mapped split: only a chunk's pages resident
    n = len(split_images)
    sums.update({f"kl_dim.{d}": float(v) for d, v in enumerate(kl_dims)})
    sums = reduce_sums(sums)
    out = {"elbo": -(sums["recon"] + sums["kl"]) / n, "recon": sums["recon"] / n, "kl": sums["kl"] / n}
    if gaussian:
        out["kl_per_dim"] = [sums[f"kl_dim.{d}"] / n for d in range(dim)]
    out["active_units"] = active_units(gather_chunks(n, means, dim))
    out["latent_dim"] = dim
    if not nll_samples:
        return out, None
    out["nll"] = sums["nll"] / n
    out["nll_samples"] = nll_samples
    return out, gather_chunks(n, nlls, 1).squeeze(1)
