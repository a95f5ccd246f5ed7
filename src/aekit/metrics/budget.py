"""How many images' float64 copies fit a memory budget: the measuring passes
work through a split (possibly a memory map larger than memory) in batches
sized by bytes, not by a fixed image count."""

from __future__ import annotations

import torch

FLOAT64_BYTES = 8


def images_within(budget_bytes: int, images: torch.Tensor) -> int:
    """Images of `images` (at least one) whose float64 pixels fit `budget_bytes`."""
    return max(1, budget_bytes // (FLOAT64_BYTES * images[0].numel()))
