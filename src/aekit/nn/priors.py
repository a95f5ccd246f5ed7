"""Priors p(z) over codes: what an adversarial regulariser matches the codes
to, what a VAE's KL term measures against, and what sampling jobs draw from.
A prior is built for a code size, draws with `sample(n)` (torch's global RNG,
so runs are seeded) and states its density with `log_prob(z)` (the
importance-sampled NLL's p(z))."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aekit.errors import ConfigError
from aekit.nn.interfaces import Prior, PriorConfig
from aekit.nn.registry import PRIORS


@PRIORS.register("gaussian")
@dataclass
class StandardGaussianConfig(PriorConfig):
    """N(0, I): the VAE's prior."""

    def build(self, dim: int) -> "StandardGaussian":
        return StandardGaussian(dim)


LOG_2PI = math.log(2 * math.pi)


class StandardGaussian(Prior):
    def sample(self, n):
        return torch.randn(n, self.dim, device=self.device)

    def log_prob(self, z):
        return -0.5 * (z.pow(2).sum(-1) + self.dim * LOG_2PI)


@PRIORS.register("mixture")
@dataclass
class CircleMixtureConfig(PriorConfig):
    """K Gaussians with equal weights, centred evenly on a circle of `radius`
    in the first two code dimensions, each with standard deviation `std` in
    every dimension (the adversarial autoencoder paper's 2-d mixture; for
    more than 2 dimensions the rest are N(0, std²))."""

    k: int = 10   # number of Gaussians
    radius: float = 4.0   # radius of the circle of centres
    std: float = 0.5   # each Gaussian's standard deviation

    def validate(self):
        if self.k <= 0:
            raise ConfigError("k: the number of components must be a positive integer")
        if self.radius < 0 or self.std <= 0:
            raise ConfigError("radius must be non-negative and std positive")

    def build(self, dim: int) -> "CircleMixture":
        if dim < 2:
            raise ConfigError("prior mixture: needs a code of at least 2 dimensions (bottleneck.dim >= 2)")
        return CircleMixture(dim, self.k, self.radius, self.std)


class CircleMixture(Prior):
    def __init__(self, dim: int, k: int, radius: float, std: float):
        super().__init__(dim)
        self.k, self.std = k, std
        angles = torch.arange(k) * (2 * math.pi / k)
        centres = torch.zeros(k, dim)
        centres[:, 0], centres[:, 1] = radius * torch.cos(angles), radius * torch.sin(angles)
        self.register_buffer("centres", centres, persistent=False)

    def sample(self, n):
        which = torch.randint(self.k, (n,), device=self.centres.device)
        return self.centres[which] + self.std * torch.randn(n, self.dim, device=self.centres.device)

    def log_prob(self, z):
        # log (1/K) sum_k N(z; centre_k, std^2 I): a log-sum-exp over the components.
        sq = (z.unsqueeze(-2) - self.centres).pow(2).sum(-1)          # [..., K]
        log_normal = -0.5 * sq / self.std ** 2 - self.dim * (math.log(self.std) + 0.5 * LOG_2PI)
        return torch.logsumexp(log_normal, dim=-1) - math.log(self.k)

    def component(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest centre for each code (for occupancy statistics)."""
        return torch.cdist(z, self.centres).argmin(dim=1)


@PRIORS.register("uniform")
@dataclass
class UniformConfig(PriorConfig):
    """Uniform on the cube [low, high]^dim."""

    low: float = -1.0   # lower bound
    high: float = 1.0   # upper bound

    def validate(self):
        if not self.low < self.high:
            raise ConfigError("low must be below high")

    def build(self, dim: int) -> "Uniform":
        return Uniform(dim, self.low, self.high)


class Uniform(Prior):
    def __init__(self, dim: int, low: float, high: float):
        super().__init__(dim)
        self.low, self.high = low, high

    def sample(self, n):
        u = torch.rand(n, self.dim, device=self.device)
        return self.low + (self.high - self.low) * u

    def log_prob(self, z):
        inside = ((z >= self.low) & (z <= self.high)).all(-1)
        density = torch.full(inside.shape, -self.dim * math.log(self.high - self.low), dtype=z.dtype, device=z.device)
        return density.masked_fill(~inside, -math.inf)
