"""Adversarial prior matching (the adversarial autoencoder, Makhzani et al.).

A discriminator D on codes learns to tell prior samples from the encoder's
codes; the encoder learns to fool it. The two are trained alternately by the
trainer's critic hook: the main loss gets `forward(code)` (the encoder's
generator loss, per image), the critic optimiser gets `critic_loss(z)` on
detached codes. Both use the non-saturating logistic GAN loss:

    critic:   -log D(z_prior) - log(1 - D(z_code))
    encoder:  -log D(z_code)            (softplus(-logit), stable)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from aekit.errors import ConfigError
from aekit.nn.linear import Linear
from aekit.nn.interfaces import Code, CriticRegulariser, Prior, RegulariserConfig, build_part
from aekit.nn.mlp import mlp_layers
from aekit.nn.registry import PRIORS, REGULARISERS
from aekit.schema import tagged

# Importing registers the kinds of prior.
from aekit.nn import priors  # noqa: F401


@REGULARISERS.register("adversarial")
@dataclass
class AdversarialConfig(RegulariserConfig):
    prior: Any = tagged(PRIORS, "gaussian")   # the distribution the codes are matched to
    weight: float = 1.0               # of the encoder's generator loss against the reconstruction term
    widths: list[int] = field(default_factory=lambda: [256, 256])   # the discriminator's hidden layers
    activation: str = "leaky_relu"   # the discriminator's activation
    slope: float = 0.2   # its leaky_relu slope
    warmup_steps: int = 0             # linear warm-up of `weight` from 0

    def validate(self):
        if self.weight < 0 or self.warmup_steps < 0:
            raise ConfigError("adversarial: weight and warmup_steps must be non-negative")
        if not self.widths or any(w <= 0 for w in self.widths):
            raise ConfigError("adversarial: widths must be a non-empty list of positive integers")

    def build(self, code_dim: int) -> "Adversarial":
        return Adversarial(self, code_dim)


class Adversarial(CriticRegulariser):
    name = "adversarial"
    names_prior = True

    def __init__(self, cfg: AdversarialConfig, code_dim: int):
        super().__init__()
        self.weight, self.warmup_steps = cfg.weight, cfg.warmup_steps
        self.prior = build_part(cfg.prior, Prior, "adversarial.prior", code_dim)
        hidden, width = mlp_layers(code_dim, list(cfg.widths), cfg.activation, cfg.slope, 0.0, False)
        self.critic = nn.Sequential(*hidden, Linear(width, 1))

    def weight_at(self, step: int | None) -> float:
        if not self.warmup_steps or step is None:
            return self.weight
        return self.weight * min(1.0, step / self.warmup_steps)

    def log_prior(self, z: torch.Tensor, bottleneck) -> torch.Tensor:
        return self.prior.log_prob(z)   # the prior the critic matches the codes to

    def logit(self, z: torch.Tensor) -> torch.Tensor:
        """D's logit that `z` came from the prior, [B]."""
        return self.critic(z).squeeze(-1)

    def forward(self, code: Code) -> torch.Tensor:
        # The critic's weights enter the encoder's loss as constants: the encoder
        # learns to fool D, and D learns only from `critic_loss` (no gradients
        # left behind in D for whoever steps the critic optimiser next).
        frozen = {name: p.detach() for name, p in self.critic.named_parameters()}
        logit = functional_call(self.critic, frozen, (code.z,)).squeeze(-1)
        return F.softplus(-logit)

    def critic_loss(self, z: torch.Tensor) -> torch.Tensor:
        real = self.prior.sample(len(z)).to(z.dtype)
        return F.softplus(-self.logit(real)).mean() + F.softplus(self.logit(z.detach())).mean()
