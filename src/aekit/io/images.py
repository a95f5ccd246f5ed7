"""Image grids and PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from aekit.fs import atomic_write_with


def make_grid(images: torch.Tensor, ncols: int, pad: int = 2, scale: int = 2) -> np.ndarray:
    """[N, C, H, W] floats in [0, 1] → one uint8 image (H', W') or (H', W', 3),
    tiles row by row on a white background, each enlarged `scale` times."""
    images = images.detach().to("cpu", torch.float32).clamp(0, 1)
    n, c, h, w = images.shape
    if scale > 1:
        images = images.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
        h, w = h * scale, w * scale
    nrows = max(1, -(-n // ncols))
    grid = torch.ones(c, nrows * (h + pad) + pad, ncols * (w + pad) + pad)
    for i in range(n):
        r, col = divmod(i, ncols)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, top:top + h, left:left + w] = images[i]
    array = (grid * 255).round().to(torch.uint8).numpy()
    return array[0] if c == 1 else array.transpose(1, 2, 0)


def save_png(path: str | Path, array: np.ndarray) -> None:
    image = Image.fromarray(array)
    atomic_write_with(path, lambda tmp: image.save(tmp, format="PNG"))
