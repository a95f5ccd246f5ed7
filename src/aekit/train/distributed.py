"""Training on several processes with torch's DistributedDataParallel.

Started by `torchrun --nproc-per-node N -m aekit train ...`: torchrun sets
RANK/WORLD_SIZE/MASTER_ADDR in the environment; we join the process group
(gloo on CPU, nccl on CUDA). Every rank holds the whole in-memory tensor and
takes its shard of each global batch, so the global batch size, the data
order (epoch_order) and hence the run are those of one process. Only rank 0
writes files.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def init(device: torch.device) -> None:
    """Join the process group once, when launched by torchrun with N > 1."""
    if world_size() > 1 and not dist.is_initialized():
        if device.type == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            dist.init_process_group("nccl")
        else:
            dist.init_process_group("gloo")


def local_device(device: torch.device) -> torch.device:
    if world_size() > 1 and device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def shard(idx: torch.Tensor) -> torch.Tensor:
    """This rank's share of one global batch of indices."""
    return idx[rank()::world_size()] if world_size() > 1 else idx


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    if world_size() > 1:
        t = t.clone()
        dist.all_reduce(t)
    return t


class LossModule(nn.Module):
    """DDP synchronises gradients through `forward`; the training objective is
    `model.loss`, so it becomes this module's forward."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, step):
        return self.model.loss(x, step)


def wrap(model, device: torch.device):
    """The callable that computes the loss: `model.loss` itself on one
    process, a DDP module around it on several."""
    if world_size() == 1:
        return model.loss
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(LossModule(model), device_ids=[device.index] if device.type == "cuda" else None)


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()
