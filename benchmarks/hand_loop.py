"""The baseline: a minimal hand-written PyTorch loop, as a tutorial writes it.

The data set is one uint8 tensor in memory, batches are `randperm` slices
converted per batch, Adam with torch's default implementation, no logging,
no validation, no files. Same model and same data as aekit's run, with
torch's own nn.Linear kernels, as a script's nn.Linear layers have them
(aekit's layers may use oneDNN's: aekit/nn/linear.py)."""

from __future__ import annotations

import time

import torch

from aekit.api import build_model, seed_everything
from aekit.data import load_dataset
from aekit.nn.linear import using_cpu_linear_kernel
from aekit.train.config import resolve_config
from compute import sync


@using_cpu_linear_kernel("torch")   # a fresh context per call (contextlib's decorator form)
def hand_loop(preset: str, batch: int, data: str, epochs: int, device: str = "cpu") -> tuple[float, float]:
    """(images/s over the whole wall time, set-up included; images/s of the training loop alone)."""
    start = time.perf_counter()
    cfg = resolve_config(preset, overrides={"data.name": data, "train.batch_size": batch})
    ds = load_dataset(data, val_fraction=cfg.data.val_fraction, seed=0)   # aekit's split: same train images
    seed_everything(0)
    model = build_model(cfg, ds.image_shape).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    images = ds.train.images.to(device)
    n = len(images)
    sync(device)
    loop_start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(n, device=device).split(batch):
            loss = model.loss(model.preprocess(images[idx])).total
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    sync(device)
    end = time.perf_counter()
    return n * epochs / (end - start), n * epochs / (end - loop_start)
