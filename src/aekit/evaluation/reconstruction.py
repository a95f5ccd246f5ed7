"""The reconstruction section: how far the model's reconstructions are from
the images, in units every model shares, beside PCA with as many components
as the code.

Per image, on [0, 1] pixels (the model's output mapped by `to_unit`, PCA's
clipped to [0, 1] as aekit.metrics.PCA does):
  sse            Σ_pixels (x - x̂)², averaged over images
  bce            Σ_pixels -[x log x̂ + (1-x) log(1-x̂)] in nats, x̂ clamped to [BCE_EPS, 1 - BCE_EPS]
  mse_per_pixel  sse / pixels (the Keras figure)
  bce_per_pixel  bce / pixels (the Keras blog's MNIST figures)
  psnr_db        aekit.metrics.psnr per image, averaged over images
BCE is computed from the [0, 1] reconstruction for every model (the same
rule for PCA and for a squared-error model), so for a Bernoulli model it can
differ from its own loss, which uses logits, only on pixels saturated beyond
BCE_EPS.
"""

from __future__ import annotations

import torch

from aekit.data.memmap import gatherer, is_mapped, release_pages
from aekit.evaluation.shards import Chunk, reduce_sums
from aekit.metrics.budget import images_within
from aekit.metrics.pca import PCA
from aekit.metrics.probes import subsample
from aekit.metrics.psnr import psnr
from aekit.models.autoencoder import Autoencoder

BCE_EPS = 1e-7   # Keras's epsilon: log(1e-7) = -16.1 nats bounds a pixel's error
FIGURES = ("sse", "bce", "mse_per_pixel", "bce_per_pixel", "psnr_db")
RATIOS = ("sse", "bce", "mse_per_pixel", "bce_per_pixel")   # PSNR is in dB: a difference, not a ratio
SUB_BATCH_BYTES = 16 << 20   # float64 pixels of one sub-batch of a chunk
# PCA on a memory-mapped training split is fitted on this much float64 pixels
# (a seeded subsample: 5,349 28x28 images, 341 of 64x64 RGB), so evaluating a
# run larger than memory stays bounded; in memory, on the whole split.
MAPPED_FIT_BYTES = 32 << 20


def unit_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] → float64 in [0, 1]."""
    return images.to(torch.float64) / 255.0


def model_reconstruction(model: Autoencoder, images: torch.Tensor) -> torch.Tensor:
    """The model's reconstruction of uint8 `images` (on its device), in [0, 1], float64 on the CPU."""
    return model.to_unit(model(model.preprocess(images))).to("cpu", torch.float64)


def error_sums(x: torch.Tensor, recon: torch.Tensor) -> dict[str, float]:
    """Sums over the images of each per-image figure (x, recon: float64 [N, ...] in [0, 1])."""
    r = recon.clamp(BCE_EPS, 1 - BCE_EPS)
    sse = ((x - recon) ** 2).flatten(1).sum(1)
    bce = -(x * torch.log(r) + (1 - x) * torch.log1p(-r)).flatten(1).sum(1)
    return {"sse": float(sse.sum()), "bce": float(bce.sum()), "psnr_db": psnr(x, recon) * len(x)}


def section(model: Autoencoder, split_images: torch.Tensor, chunks: list[Chunk], pca: PCA | None) -> dict:
    device = next(model.parameters()).device
    sums = {f"{who}.{k}": 0.0 for who in ("model", "pca") for k in ("sse", "bce", "psnr_db")}
    # A chunk's float64 copies (the images, two reconstructions, their errors)
    # are made SUB_BATCH_BYTES at a time: the whole chunk at 28x28 (3 MB), a
    # third of it at 64x64 RGB (49 MB of floats a copy otherwise).
    step = images_within(SUB_BATCH_BYTES, split_images) if len(split_images) else 1
    for c in chunks:
        for start in range(c.start, c.stop, step):
            images = split_images[start:min(start + step, c.stop)]
            x = unit_images(images)
            for name, value in error_sums(x, model_reconstruction(model, images.to(device))).items():
                sums[f"model.{name}"] += value
            if pca is not None:
                for name, value in error_sums(x, pca.reconstruct(images)).items():
                    sums[f"pca.{name}"] += value
        release_pages(split_images)   # a memory-mapped split: only a chunk's pages resident
    sums = reduce_sums(sums)
    n, pixels = len(split_images), split_images[0].numel()
    out = {"model": _figures(sums, "model", n, pixels)}
    if pca is not None:
        out["pca"] = {"components": pca.k, "fit_images": pca.fit_images, **_figures(sums, "pca", n, pixels)}
        out["ratio"] = {k: out["model"][k] / out["pca"][k] for k in RATIOS if out["pca"][k] > 0}
        out["psnr_gain_db"] = out["model"]["psnr_db"] - out["pca"]["psnr_db"]
    out["bce_eps"] = BCE_EPS
    return out


def _figures(sums: dict[str, float], who: str, n: int, pixels: int) -> dict[str, float]:
    sse, bce = sums[f"{who}.sse"] / n, sums[f"{who}.bce"] / n
    return {"sse": sse, "bce": bce, "mse_per_pixel": sse / pixels, "bce_per_pixel": bce / pixels,
            "psnr_db": sums[f"{who}.psnr_db"] / n}


def fit_pca(model: Autoencoder, train_images: torch.Tensor, seed: int = 0) -> PCA | None:
    """PCA with as many components as the code, fitted on the training split
    (a memory-mapped one: on `fit_sample` of it); None where no such PCA
    exists (a code wider than the images, an overcomplete sparse code): the
    PCA fields are then absent."""
    k = model.code_dim
    if len(train_images) < 2 or k > train_images[0].numel():
        return None
    return PCA(k).fit(fit_sample(train_images, k + 1, seed))


def fit_sample(images: torch.Tensor, least: int, seed: int) -> torch.Tensor:
    """`images` itself in memory; from a memory map, a seeded subsample of as
    many images as MAPPED_FIT_BYTES of float64 pixels hold (at least `least`),
    read from the map: what a fit on a split larger than memory can afford."""
    if not is_mapped(images):
        return images
    count = min(len(images), max(least, images_within(MAPPED_FIT_BYTES, images)))
    return gatherer(images)(subsample(len(images), count, seed))
