"""Activation functions by name, as configs spell them."""

from __future__ import annotations

from torch import nn

from aekit.errors import ConfigError

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "identity")


def make_activation(name: str, slope: float = 0.01) -> nn.Module:
    """`slope` is leaky ReLU's negative slope (the tutorials' conv VAE uses 0.3)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(slope)
    if name == "elu":
        return nn.ELU()
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "gelu":
        return nn.GELU()
    if name in ("identity", "none", "linear"):
        return nn.Identity()
    raise ConfigError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def check_activation(name: str | None) -> None:
    if name is not None and name not in ACTIVATIONS + ("none", "linear"):
        raise ConfigError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
