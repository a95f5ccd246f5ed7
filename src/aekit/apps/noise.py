"""Noise for denoising demonstrations: `gaussian:SIGMA`, `masking:P` or
`saltpepper:P`, on [0, 1] pixels, made by the same corruption parts the
denoising autoencoders train with (aekit/nn/corruptions.py), drawn from a
seeded stream of its own (so the caller's random state is untouched).

  gaussian:0.5    x + 0.5·ε, ε ~ N(0, 1), clipped to [0, 1]
  masking:0.3     30% of the pixels, chosen independently, set to 0
  saltpepper:0.2  20% of the pixels set to 0 or 1 (half each)
"""

from __future__ import annotations

import torch

from aekit.errors import AekitError
from aekit.nn.corruptions import GaussianNoise, Masking, SaltPepper
from aekit.nn.interfaces import Corruption
from aekit.rng import fixed_rng

KINDS = ("gaussian", "masking", "saltpepper")
UNIT = (0.0, 1.0)


def parse_noise(spec: str) -> Corruption:
    kind, _, value = spec.partition(":")
    kind = kind.strip().lower().replace("_", "").replace("-", "")
    try:
        level = float(value)
    except ValueError:
        raise AekitError(f"noise {spec!r}: expected KIND:LEVEL, e.g. gaussian:0.5, masking:0.3 or "
                         f"saltpepper:0.2") from None
    if kind == "gaussian":
        if not level >= 0:
            raise AekitError(f"noise {spec!r}: the standard deviation must be non-negative")
        return GaussianNoise(UNIT, level, clip=True)
    if kind in ("masking", "saltpepper"):
        if not 0 <= level < 1:
            raise AekitError(f"noise {spec!r}: the fraction of pixels must be in [0, 1)")
        return (Masking if kind == "masking" else SaltPepper)(UNIT, level)
    raise AekitError(f"noise {spec!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")


def add_noise(clean: torch.Tensor, spec: str, seed: int, start: int = 0) -> torch.Tensor:
    """A noisy copy of [n, C, H, W] images in [0, 1]. The noise of image i
    depends on (seed, i) only, so a batch cut into chunks gets the same noise."""
    corruption = parse_noise(spec)
    out = torch.empty_like(clean)
    for i in range(len(clean)):
        with fixed_rng(seed * 1_000_003 + start + i):
            out[i] = corruption.apply_noise(clean[i:i + 1])[0]
    return out
