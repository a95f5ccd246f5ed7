"""RGB image folders made from real digits, for the any-size tests: each
digits-sample image resized with Pillow to `size` and tinted, a colour for
its strokes and another for its background drawn per image (seed 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def tinted_digits(n: int, size: int, seed: int = 0, stride: int = 1) -> np.ndarray:
    """uint8 [n, size, size, 3]: n digits, resized (Lanczos) and tinted; every
    `stride`-th of digits-sample's (sorted by class: stride 20 spans all ten)."""
    from aekit.data import load_dataset

    grey = load_dataset("digits-sample", val_fraction=0.0).train.images[::stride][:n, 0].numpy()
    rng = np.random.default_rng(seed)
    ink = rng.integers(128, 256, size=(n, 1, 1, 3))
    paper = rng.integers(0, 96, size=(n, 1, 1, 3))
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, digit in enumerate(grey):
        v = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.LANCZOS), np.float32)[..., None] / 255
        out[i] = np.rint(v * ink[i] + (1 - v) * paper[i]).astype(np.uint8)
    return out


def rgb_folder(root: Path, n: int, size: int, seed: int = 0) -> Path:
    """A folder of n RGB PNGs of size x size (made once; reused if present)."""
    root.mkdir(parents=True, exist_ok=True)
    if len(list(root.glob("*.png"))) != n:
        for i, image in enumerate(tinted_digits(n, size, seed)):
            Image.fromarray(image, "RGB").save(root / f"{i:05d}.png")
    return root
