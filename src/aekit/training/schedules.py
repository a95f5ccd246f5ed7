"""Learning-rate schedules by name, stepped once per epoch."""

from __future__ import annotations

import torch

from aekit.training.config import TrainConfig


def make_scheduler(cfg: TrainConfig, optimizer):
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=cfg.gamma, patience=2)
    return None


def step_scheduler(scheduler, monitored_loss: float) -> None:
    """One epoch's step; reduce-on-plateau watches `monitored_loss`."""
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(monitored_loss)
    else:
        scheduler.step()
