"""No host sync per step: the training loop reads a tensor's value on the
host (`.item()`, `float(t)`, `bool(t)`, all `aten._local_scalar_dense`) only
for its periodic NaN check and at epoch ends, never once per step. On a GPU
each such read would stall the queue of kernels."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from aekit.api import train
from aekit.training.callbacks import Callback


class CountHostReads(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.reads += 1
        return func(*args, **(kwargs or {}))


class CountSteps(Callback):
    def __init__(self):
        self.steps = 0

    def on_step_end(self, trainer, *args):
        self.steps += 1


def test_host_reads_are_per_check_and_per_epoch_not_per_step():
    steps = CountSteps()
    with CountHostReads() as counter:
        train("vae-kingma", data="digits-sample", epochs=2, batch_size=32, seed=0, save=False,
              callbacks=[steps], sets=["train.nan_check_every=50"])
    assert steps.steps == 2 * 113
    # Measured: 12 reads for 226 steps (NaN checks every 50 steps and at each
    # epoch end, the epoch's loss sums and validation means). One read per
    # step would be 226 or more.
    assert counter.reads <= 2 * (226 // 50 + 6), counter.reads
