"""Carving a held-out split from a pool of images, reproducibly.

`carve` draws `round(fraction * N)` images with a seeded `torch.randperm`
(its own `torch.Generator`, so the global RNG is neither used nor disturbed).
Both parts keep the pool's original order, so the result depends only on
the pool, the fraction and the seed.
"""

from __future__ import annotations

import math

import torch

from aekit.data.types import Split
from aekit.errors import DataError

MAX_VAL_FRACTION = 0.9

# User data without its own train/test folders gets a fixed 10% test split
# drawn with this seed, independent of the run's `seed`: changing the seed
# reshuffles train/val but never moves an image into or out of the test set.
TEST_FRACTION = 0.1
TEST_SEED = 1234


def check_val_fraction(val_fraction: float) -> float:
    try:
        value = float(val_fraction)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= MAX_VAL_FRACTION:   # also rejects NaN
        raise DataError(f"val_fraction must be between 0 and {MAX_VAL_FRACTION}, got {val_fraction!r}: "
                        f"pass e.g. val_fraction=0.1 (0 for no validation split)")
    return value


def carve(pool: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Split `pool` into (rest, carved) with `round(fraction * len(pool))` carved images."""
    rest, carved = carve_index(len(pool), fraction, seed)
    return take(pool, rest), take(pool, carved)


def carve_index(n: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`carve`'s two parts as increasing indices into a pool of `n` images."""
    k = round(fraction * n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    chosen = torch.zeros(n, dtype=torch.bool)
    chosen[order[:k]] = True
    # nonzero() lists indices in increasing order: both parts keep the pool's order.
    return (~chosen).nonzero().squeeze(1), chosen.nonzero().squeeze(1)


def take(pool: Split, index: torch.Tensor) -> Split:
    labels = pool.labels.index_select(0, index) if pool.labels is not None else None
    return Split(pool.images.index_select(0, index).contiguous(), labels)
