"""The encode and decode jobs: codes to and from .npy files.

encode: float32 [N, D] codes (a VAE's posterior means) in one .npy file.
decode: codes [N, D] from a .npy file → the folder `out` with images.npy
(uint8 [N, C, H, W]) and grid.png (the first `n_grid` images, 10 a row).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.apps.inputs import read_codes
from aekit.apps.model import Model
from aekit.apps.results import save_npy
from aekit.data.arrays import load_array
from aekit.errors import AekitError
from aekit.io.images import make_grid, save_png

GRID_COLUMNS = 10


def encode_job(model: Model, images: Any, out: str | Path, sample: bool = False, seed: int | None = None) -> np.ndarray:
    out = Path(out)
    if out.suffix != ".npy":
        raise AekitError(f"encode writes a .npy file; got -o {out}: name it e.g. codes.npy")
    codes = model.encode(model.images(images).as_form("numpy"), sample=sample, seed=seed)
    save_npy(out, codes.astype(np.float32))
    return codes


@dataclass(frozen=True)
class Decoded:
    images: np.ndarray          # uint8 [N, C, H, W]
    files: dict[str, Path]


def decode_job(model: Model, codes_file: str | Path, out: str | Path, n_grid: int = 100) -> Decoded:
    codes = load_codes(codes_file)
    z, _ = read_codes(codes, model.code_dim)
    images = model.decode(z.numpy())
    if images.ndim == 3:
        images = images[None]
    pixels = np.rint(images * 255).astype(np.uint8)
    out = Path(out)
    files = {"images": out / "images.npy", "grid": out / "grid.png"}
    save_npy(files["images"], pixels)
    save_png(files["grid"], make_grid(torch.from_numpy(images[:n_grid]), GRID_COLUMNS))
    return Decoded(pixels, files)


def load_codes(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise AekitError(f"codes file {path} not found: give the .npy that `aekit encode` wrote")
    return load_array(path, "give a .npy file of codes [N, D]",
                      fix="give a .npy file of float codes [N, D], as `aekit encode` writes")
