"""Fully connected encoder and decoder.

The encoder flattens an image [B, C, H, W] into features [B, F]; the bottleneck
then maps F to the code. The decoder maps a code [B, D] through hidden layers
to the likelihood's raw output [B, C, H, W] (logits for Bernoulli), so the
output layer itself carries no activation unless the likelihood asks for one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.linear import Linear
from aekit.nn.activations import check_activation, make_activation
from aekit.nn.interfaces import Decoder, DecoderConfig, Encoder, EncoderConfig
from aekit.nn.registry import DECODERS, ENCODERS


def mlp_layers(in_features: int, widths: list[int], activation: str, slope: float,
               dropout: float, batch_norm: bool) -> tuple[list[nn.Module], int]:
    layers: list[nn.Module] = []
    width = in_features
    for out in widths:
        layers.append(Linear(width, out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(out))
        layers.append(make_activation(activation, slope))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = out
    return layers, width


@dataclass
class _MLPOptions:
    widths: list[int] | None = None   # hidden layer widths, from the image side
    activation: str = "relu"   # hidden layers' activation (relu, leaky_relu, elu, tanh, sigmoid, ...)
    slope: float = 0.01          # negative slope for leaky_relu
    dropout: float = 0.0         # on hidden layers, training only
    batch_norm: bool = False   # batch normalisation after each hidden layer

    def validate(self):
        check_activation(self.activation)
        if self.widths is not None and any(w <= 0 for w in self.widths):
            raise ConfigError("widths: every width must be a positive integer")
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout: must be in [0, 1)")


@ENCODERS.register("mlp")
@dataclass
class MLPEncoderConfig(_MLPOptions, EncoderConfig):
    widths: list[int] | None = field(default_factory=lambda: [256, 128])   # hidden layer widths, image side first

    def build(self, input_shape: tuple[int, int, int]) -> "MLPEncoder":
        return MLPEncoder(self, input_shape)


class MLPEncoder(Encoder):
    def __init__(self, cfg: MLPEncoderConfig, input_shape):
        super().__init__()
        layers, self.out_features = mlp_layers(
            math.prod(input_shape), list(cfg.widths or []), cfg.activation, cfg.slope, cfg.dropout, cfg.batch_norm
        )
        self.net = nn.Sequential(nn.Flatten(), *layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@DECODERS.register("mlp")
@dataclass
class MLPDecoderConfig(_MLPOptions, DecoderConfig):
    """`widths: null` mirrors an MLP encoder's widths (784-256-128 → 128-256-784);
    after any other encoder it means no hidden layers."""

    def build(self, code_dim: int, output_shape: tuple[int, int, int], encoder_cfg=None) -> "MLPDecoder":
        widths = self.widths
        if widths is None:
            mirrored = encoder_cfg.widths if isinstance(encoder_cfg, MLPEncoderConfig) else None
            widths = list(reversed(mirrored or []))
        return MLPDecoder(self, widths, code_dim, output_shape)


class MLPDecoder(Decoder):
    def __init__(self, cfg: MLPDecoderConfig, widths: list[int], code_dim: int, output_shape):
        super().__init__()
        self.output_shape = tuple(output_shape)
        layers, width = mlp_layers(code_dim, widths, cfg.activation, cfg.slope, cfg.dropout, cfg.batch_norm)
        self.net = nn.Sequential(*layers, Linear(width, math.prod(output_shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.output_shape)
