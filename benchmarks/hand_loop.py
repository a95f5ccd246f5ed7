"""Two hand-written PyTorch loops to hold aekit's trainer against. Both keep
the data set as one uint8 tensor in memory, convert batches per batch, and
do nothing else: no logging, no validation, no files, no checks.

- `tutorial_loop`: the loop a user writes, as a tutorial shows it: torch's
  own nn.Linear kernels, torch's default Adam (its for-loop), batches by
  advanced indexing `images[idx]`, contiguous conv weights, denormal floats
  left as they are (torch's default).
- `like_for_like_loop`: the same loop with every kernel and choice aekit's
  trainer makes, taken from aekit's own functions: its linear kernel, its
  optimiser (`make_optimizer`: fused Adam), an `index_select` gather, its
  epoch order, channels-last where `uses_channels_last` says, its thread
  count, and denormals flushed on every thread as its `train.flush_denormal`
  says (`aekit.cpu.flushing_denormals`, as its fit() does). aekit against
  this loop is the trainer's own overhead (per-step bookkeeping, callbacks;
  in a whole epoch also its validation and files). Same seed, same steps:
  its weights equal aekit.train's bit for bit after one epoch for vae-kingma
  and fashion-ae, after two for conv-ae-10, with train.flush_denormal true
  and false (digits-sample, 2-core AMD EPYC, 2026-11-30); a VAE's part from
  the second epoch on, as aekit's validation draws its z from the same
  global RNG.

As a script, the tutorial loop runs in a process of its own, as a plain
PyTorch script does: nothing tuned (no `aekit.tune_cpu()`: OpenMP's waits
are libgomp's defaults, the thread count torch's, denormals not flushed).
benchmarks/cli_speed.py times it against `aekit train`:

    python benchmarks/hand_loop.py PRESET DATA BATCH EPOCHS   # prints per-epoch img/s as JSON
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch

from aekit.api import build_model, seed_everything
from aekit.cpu import flushing_denormals
from aekit.data import load_dataset
from aekit.nn.linear import cpu_linear_kernel, using_cpu_linear_kernel
from aekit.training.config import resolve_config
from aekit.training.device import resolve_device, usable_cpu_threads
from aekit.training.optim import make_optimizer
from aekit.training.trainer import epoch_order, uses_channels_last
from compute import sync
from epochs import RunClock


def _set_up(preset: str, batch: int, data: str, sets: list[str], device: str):
    cfg = resolve_config(preset, overrides={"data.name": data, "train.batch_size": batch, "train.device": device},
                         sets=sets)
    ds = load_dataset(data, val_fraction=cfg.data.val_fraction, seed=cfg.train.seed)   # aekit's split: same images
    seed_everything(cfg.train.seed)
    return cfg, ds, build_model(cfg, ds.image_shape)


@using_cpu_linear_kernel("torch")   # a fresh context per call (contextlib's decorator form)
def tutorial_loop(preset: str, batch: int, data: str, epochs: int, device: str = "cpu",
                  sets: list[str] = ()) -> RunClock:
    start = time.perf_counter()
    cfg, ds, model = _set_up(preset, batch, data, list(sets), device)
    model = model.to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    images = ds.train.images.to(device)
    n = len(images)
    clock = RunClock(n, start)
    sync(device)
    clock.set_up()
    for _ in range(epochs):
        for idx in torch.randperm(n, device=device).split(batch):
            loss = model.loss(model.preprocess(images[idx])).total
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(device)
        clock.epoch_done()
    return clock.finish()


def like_for_like_epoch(model, opt, images: torch.Tensor, batch: int, seed: int, epoch: int, step: int) -> int:
    """One epoch of the like-for-like loop: aekit's epoch order, an
    index_select gather, the loss, zero_grad, backward, step. Returns the
    step count after it (a VAE's KL warm-up reads it)."""
    for idx in epoch_order(len(images), seed, epoch).to(images.device).split(batch):
        loss = model.loss(model.preprocess(images.index_select(0, idx)), step).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
    return step


def like_for_like_loop(preset: str, batch: int, data: str, epochs: int, device: str = "cpu",
                       sets: list[str] = ()) -> RunClock:
    start = time.perf_counter()
    cfg, ds, model = _set_up(preset, batch, data, list(sets), device)
    train = cfg.train
    dev = resolve_device(train.device)
    torch.set_num_threads(train.threads or usable_cpu_threads())
    model = model.to(dev)
    if uses_channels_last(model, dev, train.channels_last):
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = make_optimizer(train, model.main_parameters())
    images = ds.train.images.to(dev)
    n = len(images)
    clock = RunClock(n, start)
    step = 0
    # aekit's kernel choice for this machine; denormals flushed on every thread, as aekit's fit() does.
    with using_cpu_linear_kernel(cpu_linear_kernel()), flushing_denormals(train.flush_denormal):
        sync(device)
        clock.set_up()
        for epoch in range(1, epochs + 1):
            step = like_for_like_epoch(model, opt, images, batch, train.seed, epoch, step)
            sync(device)
            clock.epoch_done()
    return clock.finish()


def main() -> None:
    if len(sys.argv) != 5:
        raise SystemExit("usage: python benchmarks/hand_loop.py PRESET DATA BATCH EPOCHS")
    preset, data, batch, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    clock = tutorial_loop(preset, batch, data, epochs)
    print(json.dumps({"images": clock.images, "epoch_img_s": clock.loop_rates, "threads": torch.get_num_threads(),
                      "openmp_env": {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}}))


if __name__ == "__main__":
    main()
