"""The denoising section, for a model trained on corrupted inputs: how much
of the noise its output removes, as PSNR against the clean images (dB,
[0, 1] pixels, aekit.metrics.psnr), both of the corrupted input and of the
model's output:

  own       the model's own training corruption (its config, e.g. Gaussian
            sigma 0.5, masking p 0.3), applied in the model's data range
  gaussian  additive Gaussian noise at each of SIGMAS (on [0, 1] pixels,
            clipped to [0, 1]), the noise levels denoising papers report

Noise is drawn per chunk from its own seed (aekit.evaluation.shards), so
the figures are the same on every run and any number of processes.
"""

from __future__ import annotations

import torch

from aekit.data.memmap import release_pages
from aekit.evaluation.reconstruction import unit_images
from aekit.evaluation.shards import Chunk, chunk_seed, reduce_sums
from aekit.metrics.psnr import psnr
from aekit.models.autoencoder import Autoencoder
from aekit.rng import fixed_rng

SIGMAS = (0.1, 0.3, 0.5)


def applies(model: Autoencoder) -> bool:
    return model.corrupts_input


def _pair(model: Autoencoder, clean: torch.Tensor, noisy_model_range: torch.Tensor) -> tuple[float, float]:
    """Sums over images of PSNR (input vs clean, output vs clean)."""
    noisy = model.to_unit(noisy_model_range).to("cpu", torch.float64)
    out = model.to_unit(model(noisy_model_range)).to("cpu", torch.float64)
    return psnr(clean, noisy) * len(clean), psnr(clean, out) * len(clean)


def section(model: Autoencoder, split_images: torch.Tensor, chunks: list[Chunk], seed: int) -> dict:
    device = next(model.parameters()).device
    low, high = model.data_range
    names = ["own"] + [f"sigma{i}" for i in range(len(SIGMAS))]
    sums = {f"{name}.{what}": 0.0 for name in names for what in ("input", "output")}
    for c in chunks:
        images = split_images[c.start:c.stop]
        clean = unit_images(images)
        x = model.preprocess(images.to(device))
        with fixed_rng(chunk_seed(seed, "denoising", c.index), device):   # the corruption draws from torch's stream
            noisy = model.corruption.apply_noise(x)
        pairs = {"own": _pair(model, clean, noisy)}
        gen = torch.Generator(device=device).manual_seed(chunk_seed(seed, "denoising", c.index) + 1)
        for i, sigma in enumerate(SIGMAS):
            noise = torch.randn(x.shape, generator=gen, device=device)
            noisy01 = (model.to_unit(x) + sigma * noise).clamp(0, 1)
            pairs[f"sigma{i}"] = _pair(model, clean, noisy01 * (high - low) + low)
        for name, (inp, outp) in pairs.items():
            sums[f"{name}.input"] += inp
            sums[f"{name}.output"] += outp
        release_pages(split_images)   # a memory-mapped split: only a chunk's pages resident
    sums = reduce_sums(sums)
    n = len(split_images)

    def entry(name: str) -> dict:
        return {"psnr_input_db": sums[f"{name}.input"] / n, "psnr_output_db": sums[f"{name}.output"] / n}

    return {"own": entry("own"),
            "gaussian": [{"sigma": sigma, **entry(f"sigma{i}")} for i, sigma in enumerate(SIGMAS)]}
