"""Regularisers: extra loss terms computed from the code.

Each returns one number per image (the same unit as the reconstruction term)
and has a weight. `weight_at(step)` lets a term warm up. A config builds its
term for the code size (`build(code_dim)`), which a critic needs for its input.
The KL term holds no formula of its own: it asks the stochastic bottleneck
that drew the code for its divergence from the prior (`Code.bottleneck.kl`),
and for the prior's density (`log_prior`, for the importance-sampled NLL).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aekit.errors import ConfigError
from aekit.nn.interfaces import Code, Regulariser, RegulariserConfig
from aekit.nn.registry import REGULARISERS


@REGULARISERS.register("kl")
@dataclass
class KLConfig(RegulariserConfig):
    beta: float = 1.0   # weight of the KL term (beta-VAE: > 1)
    warmup_steps: int = 0     # linear warm-up of beta from 0

    def validate(self):
        if self.beta < 0 or self.warmup_steps < 0:
            raise ConfigError("kl: beta and warmup_steps must be non-negative")

    def build(self, code_dim: int | None = None) -> "KL":
        return KL(self.beta, self.warmup_steps)


class KL(Regulariser):
    name = "kl"
    needs_stochastic = True
    names_prior = True

    def __init__(self, beta: float, warmup_steps: int):
        super().__init__()
        self.beta, self.warmup_steps = beta, warmup_steps

    def weight_at(self, step: int | None) -> float:
        if not self.warmup_steps or step is None:
            return self.beta
        return self.beta * min(1.0, step / self.warmup_steps)

    def forward(self, code: Code) -> torch.Tensor:
        if code.bottleneck is None:
            raise ConfigError("kl: the code is deterministic (no distribution to compare with the prior): "
                              "set bottleneck.type to gaussian")
        return code.bottleneck.kl(code)

    def log_prior(self, z: torch.Tensor, bottleneck) -> torch.Tensor:
        # The prior the divergence is measured against: the bottleneck's own.
        return bottleneck.log_prior(z)


@REGULARISERS.register("l1")
@dataclass
class L1ActivityConfig(RegulariserConfig):
    """L1 activity sparsity: `weight` · Σ|z_i| per image (the Keras
    activity_regularizer of a sparse autoencoder). Pair it with a ReLU code
    so that most units can sit at exactly zero."""

    weight: float = 1e-3   # weight of the L1 penalty

    def validate(self):
        if self.weight < 0:
            raise ConfigError("l1: weight must be non-negative")

    def build(self, code_dim: int | None = None) -> "L1Activity":
        return L1Activity(self.weight)


class L1Activity(Regulariser):
    name = "l1"

    def __init__(self, weight: float):
        super().__init__()
        self.weight = weight

    def weight_at(self, step: int | None) -> float:
        return self.weight

    def forward(self, code: Code) -> torch.Tensor:
        return code.z.abs().sum(-1)
