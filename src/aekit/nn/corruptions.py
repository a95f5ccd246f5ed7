"""Corruptions of the input, applied during training only (denoising AEs)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aekit.nn.registry import CORRUPTIONS


@CORRUPTIONS.register("none")
@dataclass
class NoCorruptionConfig:
    def build(self, data_range: tuple[float, float]) -> nn.Module:
        return nn.Identity()


def corrupt(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return module(x)
