"""Where new codes come from: the prior a model was trained towards, or, for a
plain autoencoder (which has none), a Gaussian fitted to its training codes;
and paths between two codes (linear or spherical).

The order of choice, stated once:
  1. an adversarial regulariser's prior (AAE): its codes were matched to it;
  2. a Gaussian bottleneck with a KL term (VAE): N(0, I);
  3. otherwise (plain, sparse, denoising AE): N(mean, covariance) of the
     codes of the training images, full covariance, fitted in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aekit.errors import AekitError
from aekit.models.autoencoder import Autoencoder
from aekit.nn.adversarial import Adversarial
from aekit.nn.interfaces import Prior
from aekit.nn.regularisers import KL

JITTER = 1e-6   # added to the covariance's diagonal: a dead code unit has zero variance


@dataclass(frozen=True)
class FittedGaussian:
    """N(mean, cov) fitted to `n` codes; draws through the Cholesky factor."""

    mean: torch.Tensor    # [D] float64
    cov: torch.Tensor     # [D, D] float64
    n: int

    @classmethod
    def fit(cls, codes: torch.Tensor) -> "FittedGaussian":
        if len(codes) < 2:
            raise AekitError(f"fitting a Gaussian to codes needs at least 2 images, got {len(codes)}")
        z = codes.to("cpu", torch.float64)
        return cls(z.mean(0), torch.cov(z.T).reshape(z.shape[1], z.shape[1]), len(z))

    def sample(self, n: int) -> torch.Tensor:
        d = len(self.mean)
        chol = torch.linalg.cholesky(self.cov + JITTER * torch.eye(d, dtype=torch.float64))
        eps = torch.randn(n, d, dtype=torch.float64)
        return (self.mean + eps @ chol.T).to(torch.float32)


def kind(model: Autoencoder) -> str:
    """"aae", "vae" or "ae": which of the three rules above applies."""
    if any(isinstance(reg, Adversarial) for reg in model.regularisers):
        return "aae"
    if model.bottleneck.stochastic and any(isinstance(reg, KL) for reg in model.regularisers):
        return "vae"
    return "ae"


def model_prior(model: Autoencoder) -> tuple[Prior | None, str]:
    """(the AAE's prior part, or None: N(0, I) for a VAE, a fitted Gaussian for
    an AE; and a sentence saying which)."""
    which = kind(model)
    if which == "aae":
        prior = next(reg.prior for reg in model.regularisers if isinstance(reg, Adversarial))
        return prior, f"the adversarial prior ({type(prior).__name__}) the codes were matched to"
    if which == "vae":
        return None, "N(0, I), the VAE's prior"
    return None, "a Gaussian fitted to the training images' codes; a plain autoencoder has no prior"


def path(a: torch.Tensor, b: torch.Tensor, steps: int, method: str) -> torch.Tensor:
    """`steps` codes [steps, D] from a to b, both ends included exactly.

    slerp (spherical, for Gaussian codes: points between two draws of N(0, I)
    keep the norm typical of the prior, where the straight line's midpoint is
    shorter than either end) rotates from a to b while its norm moves linearly
    from |a| to |b|; two codes in (almost) the same direction fall back to the line."""
    if steps < 2:
        raise AekitError(f"interpolation needs at least 2 steps (both ends), got {steps}")
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    if method == "linear":
        out = (1 - t) * a64 + t * b64
    elif method == "slerp":
        na, nb = a64.norm(), b64.norm()
        cos = torch.dot(a64, b64) / (na * nb) if na > 0 and nb > 0 else torch.tensor(1.0, dtype=torch.float64)
        omega = torch.arccos(cos.clamp(-1, 1))
        if omega < 1e-6 or math.pi - omega < 1e-6:   # parallel or opposite: no unique great circle
            out = (1 - t) * a64 + t * b64
        else:
            ua, ub = a64 / na, b64 / nb
            direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
            out = direction * ((1 - t) * na + t * nb)
        out[0], out[-1] = a64, b64
    else:
        raise AekitError(f"interpolation method {method!r} is unknown: use linear or slerp")
    return out.to(torch.float32)
