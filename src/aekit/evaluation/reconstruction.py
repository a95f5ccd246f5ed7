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

from aekit.evaluation.shards import Chunk, reduce_sums
from aekit.metrics.pca import PCA
from aekit.metrics.psnr import psnr
from aekit.models.autoencoder import Autoencoder

BCE_EPS = 1e-7   # Keras's epsilon: log(1e-7) = -16.1 nats bounds a pixel's error
FIGURES = ("sse", "bce", "mse_per_pixel", "bce_per_pixel", "psnr_db")
RATIOS = ("sse", "bce", "mse_per_pixel", "bce_per_pixel")   # PSNR is in dB: a difference, not a ratio


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
    for c in chunks:
        images = split_images[c.start:c.stop]
        x = unit_images(images)
        for name, value in error_sums(x, model_reconstruction(model, images.to(device))).items():
            sums[f"model.{name}"] += value
        if pca is not None:
            for name, value in error_sums(x, pca.reconstruct(images)).items():
                sums[f"pca.{name}"] += value
    sums = reduce_sums(sums)
    n, pixels = len(split_images), split_images[0].numel()
    out = {"model": _figures(sums, "model", n, pixels)}
    if pca is not None:
        out["pca"] = {"components": pca.k, **_figures(sums, "pca", n, pixels)}
        out["ratio"] = {k: out["model"][k] / out["pca"][k] for k in RATIOS if out["pca"][k] > 0}
        out["psnr_gain_db"] = out["model"]["psnr_db"] - out["pca"]["psnr_db"]
    out["bce_eps"] = BCE_EPS
    return out


def _figures(sums: dict[str, float], who: str, n: int, pixels: int) -> dict[str, float]:
    sse, bce = sums[f"{who}.sse"] / n, sums[f"{who}.bce"] / n
    return {"sse": sse, "bce": bce, "mse_per_pixel": sse / pixels, "bce_per_pixel": bce / pixels,
            "psnr_db": sums[f"{who}.psnr_db"] / n}


def fit_pca(model: Autoencoder, train_images: torch.Tensor) -> PCA | None:
    """PCA with as many components as the code, fitted on the training split;
    None where no such PCA exists (a code wider than the images, an
    overcomplete sparse code): the PCA fields are then absent."""
    k = model.code_dim
    if len(train_images) < 2 or k > train_images[0].numel():
        return None
    return PCA(k).fit(train_images)
