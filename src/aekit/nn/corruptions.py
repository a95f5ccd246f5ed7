"""Corruptions of the input, applied during training only (denoising AEs).

Each corruption is a module built with the model's data range (low, high):
noise is clipped to it, masked pixels become `low` (background), salt and
pepper pixels become `high` / `low`. Randomness comes from torch's global RNG,
so `train.seed` makes a run repeatable. In eval mode every corruption is the
identity: a corruption is a training device, never part of inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.interfaces import Corruption, CorruptionConfig
from aekit.nn.registry import CORRUPTIONS


class NoCorruption(Corruption):
    def apply_noise(self, x: torch.Tensor) -> torch.Tensor:
        return x


@CORRUPTIONS.register("none")
@dataclass
class NoCorruptionConfig(CorruptionConfig):
    def build(self, data_range: tuple[float, float]) -> NoCorruption:
        return NoCorruption(data_range)


def _check_fraction(p: float, key: str = "p") -> None:
    if not 0 <= p < 1:
        raise ConfigError(f"{key}: the fraction of pixels must be in [0, 1), got {p}")


class _FractionCorruption(Corruption):
    """A corruption that touches a fraction `p` of the pixels."""

    def __init__(self, data_range: tuple[float, float], p: float):
        super().__init__(data_range)
        self.p = p


@dataclass
class _FractionConfig(CorruptionConfig):
    """Options of a `_FractionCorruption`: subclasses set `p`'s default and `module`."""

    p: float
    module = _FractionCorruption   # a class attribute, not a dataclass field

    def validate(self):
        _check_fraction(self.p)

    def build(self, data_range):
        return self.module(data_range, self.p)


@CORRUPTIONS.register("gaussian")
@dataclass
class GaussianNoiseConfig(CorruptionConfig):
    """x + σ·ε, ε ~ N(0, 1). σ is in units of [0, 1] pixels (the tutorials'
    convention) and scales with the data range, so σ = 0.5 means the same
    noise on [-1, 1] data; `clip` keeps the noisy image a valid image."""

    sigma: float = 0.5   # noise standard deviation, in [0, 1] pixel units
    clip: bool = True   # clip the noisy image to the data range

    def validate(self):
        if self.sigma < 0:
            raise ConfigError("sigma: the noise level must be non-negative")

    def build(self, data_range: tuple[float, float]) -> "GaussianNoise":
        return GaussianNoise(data_range, self.sigma, self.clip)


class GaussianNoise(Corruption):
    def __init__(self, data_range, sigma: float, clip: bool):
        super().__init__(data_range)
        self.sigma, self.clip = sigma * (data_range[1] - data_range[0]), clip

    def apply_noise(self, x):
        y = x + self.sigma * torch.randn_like(x)
        return y.clamp(self.low, self.high) if self.clip else y


class Masking(_FractionCorruption):
    def apply_noise(self, x):
        keep = torch.rand_like(x) >= self.p
        return torch.where(keep, x, torch.full_like(x, self.low))


@CORRUPTIONS.register("masking")
@dataclass
class MaskingConfig(_FractionConfig):
    """Masking noise (Vincent et al.): a fraction `p` of pixels, chosen
    independently, is set to the background value."""

    p: float = 0.3   # fraction of pixels set to the background
    module = Masking


class SaltPepper(_FractionCorruption):
    def apply_noise(self, x):
        u = torch.rand_like(x)
        # u < p/2: pepper, p/2 <= u < p: salt, else untouched: one draw decides both.
        y = torch.where(u < self.p / 2, torch.full_like(x, self.low), x)
        return torch.where((u >= self.p / 2) & (u < self.p), torch.full_like(x, self.high), y)


@CORRUPTIONS.register("salt_pepper")
@dataclass
class SaltPepperConfig(_FractionConfig):
    """A fraction `p` of pixels is replaced, half by the maximum (salt), half
    by the minimum (pepper) of the data range."""

    p: float = 0.1   # fraction of pixels replaced
    module = SaltPepper


class InputDropout(_FractionCorruption):
    def apply_noise(self, x):
        return nn.functional.dropout(x, self.p, training=True)


@CORRUPTIONS.register("dropout")
@dataclass
class InputDropoutConfig(_FractionConfig):
    """Input dropout: pixels dropped with probability `p`, the survivors scaled
    by 1/(1-p) (inverted dropout, as nn.Dropout) so the expected input is
    unchanged. Unlike masking it rescales, so it is dropout on the input layer
    rather than a model of missing pixels. Assumes background 0 ([0, 1] data)."""

    p: float = 0.2   # dropout probability
    module = InputDropout
