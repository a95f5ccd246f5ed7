"""Peak signal-to-noise ratio, the denoising metric:
PSNR = 10 log10(peak² / MSE), per image, in dB, then averaged over images
(averaging per-image dB, as denoising papers do, rather than pooling MSE)."""

from __future__ import annotations

import torch


def psnr(clean: torch.Tensor, estimate: torch.Tensor, peak: float = 1.0, eps: float = 1e-10) -> float:
    """Mean PSNR in dB between images [N, ...] on the same scale (peak = 1 for [0, 1])."""
    mse = ((clean.to(torch.float64) - estimate.to(torch.float64)) ** 2).flatten(1).mean(1)
    return float((10 * torch.log10(peak ** 2 / (mse + eps))).mean())
