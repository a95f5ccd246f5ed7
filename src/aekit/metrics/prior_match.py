"""How well codes match a prior: the squared maximum mean discrepancy (MMD)
with a Gaussian (RBF) kernel, a two-sample statistic that is zero exactly
when the distributions agree (for a characteristic kernel). Used to check
that an adversarial autoencoder's codes moved towards its prior."""

from __future__ import annotations

import torch


def mmd_rbf(x: torch.Tensor, y: torch.Tensor, bandwidths: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)) -> float:
    """Unbiased MMD² between samples x [N, D] and y [M, D], with a sum of RBF
    kernels exp(-|a-b|² / (2 h²)) over `bandwidths` (several scales, so one
    badly chosen bandwidth cannot hide a mismatch)."""
    x, y = x.to(torch.float64), y.to(torch.float64)

    def k(a, b):
        d2 = torch.cdist(a, b) ** 2
        return sum(torch.exp(-d2 / (2 * h * h)) for h in bandwidths)

    n, m = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    xx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    yy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(xx + yy - 2 * kxy.mean())
