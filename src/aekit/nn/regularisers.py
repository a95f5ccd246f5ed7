"""Regularisers: extra loss terms computed from the code.

Each returns one number per image (the same unit as the reconstruction term)
and has a weight. `weight_at(step)` lets a term warm up. A config builds its
term for the code size (`build(code_dim)`), which a critic needs for its input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.bottlenecks import Code
from aekit.nn.registry import REGULARISERS


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per image, in nats (closed form)."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


@REGULARISERS.register("kl")
@dataclass
class KLConfig:
    beta: float = 1.0
    warmup_steps: int = 0     # linear warm-up of beta from 0

    def validate(self):
        if self.beta < 0 or self.warmup_steps < 0:
            raise ConfigError("kl: beta and warmup_steps must be non-negative")

    def build(self, code_dim: int | None = None) -> "KL":
        return KL(self.beta, self.warmup_steps)


class KL(nn.Module):
    name = "kl"
    needs_stochastic = True

    def __init__(self, beta: float, warmup_steps: int):
        super().__init__()
        self.beta, self.warmup_steps = beta, warmup_steps

    def weight_at(self, step: int | None) -> float:
        if not self.warmup_steps or step is None:
            return self.beta
        return self.beta * min(1.0, step / self.warmup_steps)

    def forward(self, code: Code) -> torch.Tensor:
        return gaussian_kl(code.mean, code.logvar)


@REGULARISERS.register("l1")
@dataclass
class L1ActivityConfig:
    """L1 activity sparsity: `weight` · Σ|z_i| per image (the Keras
    activity_regularizer of a sparse autoencoder). Pair it with a ReLU code
    so that most units can sit at exactly zero."""

    weight: float = 1e-3

    def validate(self):
        if self.weight < 0:
            raise ConfigError("l1: weight must be non-negative")

    def build(self, code_dim: int | None = None) -> "L1Activity":
        return L1Activity(self.weight)


class L1Activity(nn.Module):
    name = "l1"

    def __init__(self, weight: float):
        super().__init__()
        self.weight = weight

    def weight_at(self, step: int | None) -> float:
        return self.weight

    def forward(self, code: Code) -> torch.Tensor:
        return code.z.abs().sum(-1)
