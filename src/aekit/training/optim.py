"""Optimisers by name."""

from __future__ import annotations

import torch
from torch.optim.optimizer import _get_fused_kernels_supported_devices

from aekit.training.config import TrainConfig


def _fast_kind(params: list[torch.Tensor]) -> dict:
    """fused=True where torch has a fused kernel for the parameters' device:
    one vectorised pass per tensor does the whole update. On a 2-core CPU it
    measured 1.16-1.45x the steps/s of the default for-loop Adam on the MLP VAE
    (benchmarks/README.md); foreach=True on CPU was slower than both there.
    foreach where no fused kernel exists."""
    devices = _get_fused_kernels_supported_devices()
    if params and all(p.device.type in devices and p.is_floating_point() for p in params):
        return {"fused": True}
    return {"foreach": True}


def make_optimizer(cfg: TrainConfig, params, lr: float | None = None) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    lr = cfg.lr if lr is None else lr
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay, **_fast_kind(params))
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay, **_fast_kind(params))
    if cfg.optimizer == "rmsprop":   # no fused kernel in torch
        return torch.optim.RMSprop(params, lr=lr, weight_decay=cfg.weight_decay, momentum=cfg.momentum,
                                   alpha=cfg.rmsprop_alpha, foreach=True)
    return torch.optim.SGD(params, lr=lr, weight_decay=cfg.weight_decay, momentum=cfg.momentum, **_fast_kind(params))
