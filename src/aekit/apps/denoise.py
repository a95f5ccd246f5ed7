"""The denoise job: noisy images in, the model's reconstructions out.

With `noise` (a demonstration), the inputs are the clean images: noise is
added (aekit/apps/noise.py, seeded), the noisy images are reconstructed, and
the PSNR of the noisy and of the denoised images against the clean ones says
what the model removed. Without it, the inputs are taken as already noisy
and there is no clean row and no PSNR.

Writes into the folder `out`:
  denoise.png    rows Noisy / Denoised (/ Clean), `n_show` images evenly spaced
  denoised.npy   uint8 [N, C, H, W]
  noisy.npy      uint8 [N, C, H, W] (only when noise was added)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.apps.figures import save_rows, spread
from aekit.apps.model import Model
from aekit.apps.noise import add_noise, parse_noise
from aekit.apps.results import save_npy
from aekit.metrics.psnr import psnr


@dataclass(frozen=True)
class Denoised:
    denoised: np.ndarray                 # uint8 [N, C, H, W]
    noisy: np.ndarray                    # uint8 [N, C, H, W]
    psnr_noisy: float | None             # dB, mean over images, against the clean images
    psnr_denoised: float | None
    files: dict[str, Path] = field(default_factory=dict)


def denoise_job(model: Model, images: Any, out: str | Path, noise: str | None = None, seed: int = 0,
                n_show: int = 10) -> Denoised:
    if noise is not None:
        parse_noise(noise)   # a bad spec fails before any work
    batch = model.images(images)
    n = len(batch)
    denoised = np.empty((n, *model.input_shape), np.uint8)
    noisy_all = np.empty_like(denoised)
    sums = {"noisy": 0.0, "denoised": 0.0}
    for start in range(0, n, model.batch_size):
        clean = batch.unit(slice(start, start + model.batch_size))
        if noise is not None:   # rounded to uint8 pixels: noisy.npy holds exactly what was denoised
            noisy = torch.from_numpy(_uint8(add_noise(clean, noise, seed, start))).float().div_(255)
        else:
            noisy = clean
        recon = torch.from_numpy(model.reconstruct(noisy.numpy()))
        denoised[start:start + len(clean)] = _uint8(recon)
        noisy_all[start:start + len(clean)] = _uint8(noisy)
        if noise is not None:   # psnr averages per-image dB: sum the chunks' shares
            sums["noisy"] += psnr(clean, noisy) * len(clean)
            sums["denoised"] += psnr(clean, recon) * len(clean)
    out = Path(out)
    files = {"figure": out / "denoise.png", "denoised": out / "denoised.npy"}
    shown = spread(n, n_show).numpy()
    rows = [("Noisy", torch.from_numpy(noisy_all[shown]).float() / 255),
            ("Denoised", torch.from_numpy(denoised[shown]).float() / 255)]
    if noise is not None:
        rows.append(("Clean", batch.unit(torch.from_numpy(shown))))
        files["noisy"] = out / "noisy.npy"
        save_npy(files["noisy"], noisy_all)
    save_rows(rows, files["figure"])
    save_npy(files["denoised"], denoised)
    known = noise is not None
    return Denoised(denoised, noisy_all, sums["noisy"] / n if known else None,
                    sums["denoised"] / n if known else None, files)


def _uint8(unit: torch.Tensor) -> np.ndarray:
    return unit.mul(255).round_().to(torch.uint8).numpy()
