"""The sample job: a grid of new images (10 a row by default, or a square),
decoded from codes drawn as `Model.sample` states (the prior of a VAE or AAE;
for a plain AE, a Gaussian fitted to its training codes)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aekit.apps.model import Model
from aekit.io.images import make_grid, save_png


@dataclass(frozen=True)
class Samples:
    images: np.ndarray    # float32 [n, C, H, W] in [0, 1]
    source: str           # where the codes came from
    file: Path


def sample_job(model: Model, n: int, out: str | Path, seed: int | None = 0) -> Samples:
    images = model.sample(n, seed=seed)
    columns = max(1, math.isqrt(n - 1) + 1)   # the smallest square that holds n
    save_png(out, make_grid(torch.from_numpy(images), columns))
    return Samples(images, model.sample_source, Path(out))
