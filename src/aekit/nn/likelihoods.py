"""Likelihoods p(x | decoder output): the reconstruction term of every loss.

`nll(x, out)` returns one number per image, summed over pixels: nats for a
proper likelihood, the sum of squared errors for the plain "MSE" likelihood.
x broadcasts against out, so the importance-sampled NLL scores many decodings
of each image without copying the image (x [B, 1, C, H, W], out [B, S, C, H, W]).
The same function serves the training loss, the ELBO, importance-sampled NLL
and anomaly scores, so there is one definition of "reconstruction error".
`mean(out)` maps the decoder's raw output to an image in the data's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.activations import check_activation, make_activation
from aekit.nn.interfaces import Likelihood, LikelihoodConfig
from aekit.nn.registry import LIKELIHOODS


def _per_image(t: torch.Tensor) -> torch.Tensor:
    """Summed over the pixels: the last three dims [C, H, W]."""
    return t.flatten(-3).sum(-1)


def _pixel_dot(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Sum over pixels of x * out, x broadcast against out."""
    if x.dim() == out.dim() >= 4 and x.shape[-4] == 1:   # x [..., 1, C, H, W], out [..., S, C, H, W]
        return (out.flatten(-3) @ x.flatten(-3).transpose(-1, -2)).squeeze(-1)
    return _per_image(x * out)


@LIKELIHOODS.register("bernoulli")
@dataclass
class BernoulliConfig(LikelihoodConfig):
    """Bernoulli pixels; the decoder outputs logits (BCE from logits, stable)."""

    def build(self, shape) -> "Bernoulli":
        return Bernoulli()


class Bernoulli(Likelihood):
    unit = "nats"
    needs_unit_range = True

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if x.shape == out.shape:
            return _per_image(F.binary_cross_entropy_with_logits(out, x, reduction="none"))
        # x broadcast over many decodings (the NLL estimate): the same sum,
        # softplus(l) - x*l, in one pass over the logits plus a matrix product
        # for x*l (torch's BCE would take ~1.5x as long, on an expanded x).
        return _per_image(F.softplus(out)) - _pixel_dot(x, out)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)

    def sample(self, out: torch.Tensor) -> torch.Tensor:
        return torch.bernoulli(torch.sigmoid(out))


@LIKELIHOODS.register("gaussian")
@dataclass
class GaussianLikelihoodConfig(LikelihoodConfig):
    """Gaussian pixels around `activation(out)`.

    scale null: the plain squared error that tutorials call MSE (summed over
    pixels). scale σ: the Gaussian NLL in nats with that fixed σ. learn_scale:
    one σ learned by gradient descent (starting at `scale` or 1)."""

    activation: str = "identity"    # sigmoid for [0, 1] data, tanh for [-1, 1]
    scale: float | None = None   # fixed sigma; null: plain squared error
    learn_scale: bool = False   # learn one sigma

    def validate(self):
        check_activation(self.activation)
        if self.scale is not None and self.scale <= 0:
            raise ConfigError("scale: must be positive (or null for plain squared error)")

    def build(self, shape) -> "GaussianLikelihood":
        return GaussianLikelihood(self)


class GaussianLikelihood(Likelihood):
    needs_unit_range = False

    def __init__(self, cfg: GaussianLikelihoodConfig):
        super().__init__()
        self.act = make_activation(cfg.activation)
        self.squared_error = cfg.scale is None and not cfg.learn_scale
        self.unit = "squared error" if self.squared_error else "nats"
        log_scale = torch.tensor(math.log(cfg.scale or 1.0))
        if cfg.learn_scale:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        sq = _per_image((x - self.act(out)) ** 2)
        if self.squared_error:
            return sq
        d = out.shape[-3:].numel()    # pixels per image
        return 0.5 * sq * torch.exp(-2 * self.log_scale) + d * (self.log_scale + 0.5 * math.log(2 * math.pi))

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return self.act(out)

    def sample(self, out: torch.Tensor) -> torch.Tensor:
        return self.act(out) + torch.exp(self.log_scale) * torch.randn_like(out)
