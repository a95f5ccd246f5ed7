"""The reconstruct job: Original / Reconstruction / Error rows (as the
tutorials show them) and every image's error.

Writes into the folder `out`:
  reconstruction.png   `n_show` images evenly spaced through the inputs: the
                       originals, their reconstructions, and |x - x̂| per pixel
                       (white: no error, black: off by the full range)
  errors.csv           index, name (file name, or the index), squared_error:
                       Σ over pixels of (x - x̂)² on [0, 1] pixels
  reconstructions.npy  uint8 [N, C, H, W], every reconstruction
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.apps.figures import error_images, save_rows, spread
from aekit.apps.model import Model
from aekit.apps.results import names_or_indices, save_csv, save_npy


@dataclass(frozen=True)
class Reconstruction:
    reconstructions: np.ndarray   # uint8 [N, C, H, W]
    errors: np.ndarray            # float64 [N]
    files: dict[str, Path]


def reconstruct_job(model: Model, images: Any, out: str | Path, n_show: int = 10) -> Reconstruction:
    batch = model.images(images)
    recons, errors = model.reconstruct_and_score(batch.as_form("numpy", "NCHW", torch.uint8))
    out = Path(out)
    files = {"figure": out / "reconstruction.png", "errors": out / "errors.csv",
             "reconstructions": out / "reconstructions.npy"}
    shown = spread(len(batch), n_show)
    originals = batch.unit(shown)
    recon_shown = torch.from_numpy(recons[shown.numpy()]).float() / 255.0
    save_rows([("Original", originals), ("Reconstruction", recon_shown),
               ("Error", error_images(originals, recon_shown))], files["figure"])
    names = names_or_indices(batch.names, len(batch))
    save_csv(files["errors"], ["index", "name", "squared_error"],
             ((i, names[i], f"{e:.6f}") for i, e in enumerate(errors.tolist())))
    save_npy(files["reconstructions"], recons)
    return Reconstruction(recons, errors, files)

