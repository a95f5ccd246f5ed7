"""Bottlenecks: map encoder features [B, F] to a code.

Every bottleneck returns a `Code` (interfaces.py): `z` is what the decoder
sees during the loss, `mean` is the deterministic code used at inference
(encode, latent maps, compression). A Gaussian bottleneck also returns its
log-variance, and names itself in the Code so that the KL term (a separate
part) asks it for the code's divergence from the prior. A stochastic
bottleneck also states q(z|x) and p(z) as densities (`log_posterior`,
`log_prior`), which the importance-sampled NLL needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.linear import Linear
from aekit.nn.activations import check_activation, make_activation
from aekit.nn.interfaces import Bottleneck, BottleneckConfig, Code, StochasticBottleneck
from aekit.nn.priors import StandardGaussian
from aekit.nn.registry import BOTTLENECKS

__all__ = ["Code", "Deterministic", "DeterministicConfig", "Gaussian", "GaussianConfig", "gaussian_kl"]


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per image, in nats (closed form)."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


@dataclass
class _CodeSize(BottleneckConfig):
    dim: int = 20   # code size

    def validate(self):
        if self.dim <= 0:
            raise ConfigError("dim: the code size must be a positive integer")


@BOTTLENECKS.register("deterministic")
@dataclass
class DeterministicConfig(_CodeSize):
    activation: str | None = None   # e.g. relu for the Keras 784-32-784 model
    # false: the encoder's features are the code as they are (no dense layer),
    # as in the PyTorch conv AE whose code is its last 8x2x2 feature map.
    linear: bool = True

    def validate(self):
        super().validate()
        check_activation(self.activation)

    def build(self, in_features: int) -> "Deterministic":
        if not self.linear and in_features != self.dim:
            raise ConfigError(
                f"model.bottleneck: linear: false needs dim equal to the encoder's {in_features} features, "
                f"got {self.dim}: set dim: {in_features} or linear: true"
            )
        return Deterministic(in_features, self.dim, self.activation, self.linear)


class Deterministic(Bottleneck):
    def __init__(self, in_features: int, dim: int, activation: str | None, linear: bool = True):
        super().__init__()
        self.dim = dim
        self.linear = Linear(in_features, dim) if linear else nn.Identity()
        self.act = make_activation(activation or "identity")

    def forward(self, h: torch.Tensor, sample: bool = True) -> Code:
        z = self.act(self.linear(h))
        return Code(z, z)


@BOTTLENECKS.register("gaussian")
@dataclass
class GaussianConfig(_CodeSize):
    """Diagonal Gaussian q(z|x) = N(mean, exp(logvar)), reparameterised."""

    def build(self, in_features: int) -> "Gaussian":
        return Gaussian(in_features, self.dim)


class Gaussian(StochasticBottleneck):
    """Its prior is N(0, I) (`prior`, the part priors.py defines): `kl` is the
    closed form against it, `log_prior` its density."""

    def __init__(self, in_features: int, dim: int):
        super().__init__()
        self.dim = dim
        self.linear = Linear(in_features, 2 * dim)
        self.prior = StandardGaussian(dim)   # no parameters, nothing in the state dict

    def forward(self, h: torch.Tensor, sample: bool = True) -> Code:
        # fp32 under bf16 autocast too: the KL and the densities sum over the code.
        mean, logvar = self.linear(h).float().chunk(2, dim=-1)
        if not sample:
            return Code(mean, mean, logvar, self)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        return Code(z, mean, logvar, self)

    def kl(self, code: Code) -> torch.Tensor:
        return gaussian_kl(code.mean, code.logvar)

    def sample_posterior(self, code: Code, n: int) -> torch.Tensor:
        mean, std = code.mean.unsqueeze(1), torch.exp(0.5 * code.logvar).unsqueeze(1)
        noise = torch.randn(mean.shape[0], n, self.dim, dtype=mean.dtype, device=mean.device)
        return mean + std * noise

    def log_posterior(self, code: Code, z: torch.Tensor) -> torch.Tensor:
        mean, logvar = code.mean.unsqueeze(1), code.logvar.unsqueeze(1)
        return -0.5 * (((z - mean).pow(2) * torch.exp(-logvar) + logvar).sum(-1) + self.dim * math.log(2 * math.pi))

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        return self.prior.log_prob(z)
