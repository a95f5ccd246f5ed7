"""The interpolate job: a strip of images decoded along a path in code space
from image A to image B (aekit/apps/codes.py: linear, or slerp for Gaussian
codes). Its ends are the reconstructions of A and B."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.apps.model import Model
from aekit.io.images import make_grid, save_png


@dataclass(frozen=True)
class Strip:
    images: np.ndarray    # float32 [steps, C, H, W] in [0, 1]
    file: Path


def interpolate_job(model: Model, a: Any, b: Any, out: str | Path, steps: int = 10, method: str = "linear") -> Strip:
    a_batch, b_batch = model.images(a).as_form("numpy"), model.images(b).as_form("numpy")
    images = model.interpolate(a_batch, b_batch, steps=steps, method=method)
    save_png(out, make_grid(torch.from_numpy(images), len(images)))
    return Strip(images, Path(out))
