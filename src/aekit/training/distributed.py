"""Training on several processes with torch's DistributedDataParallel.

Started by `torchrun --nproc-per-node N -m aekit train ...`: torchrun sets
RANK/WORLD_SIZE/MASTER_ADDR in the environment; we join the process group
(gloo on CPU, nccl on CUDA). Every rank holds the whole in-memory tensor and
takes its shard of each global batch, so the global batch size, the data
order (epoch_order) and hence the run are those of one process. Only rank 0
writes files. Each rank draws its own noise (seed_rank), and rank 0's
checkpoint keeps every rank's RNG state, so `torchrun ... --resume` with the
same number of processes continues bit for bit (another number of processes
resumes with rank 0's stream on every rank: close, not exact).
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


def rank0_value(value: float, device: torch.device) -> float:
    """Rank 0's `value` on every rank. The figures that steer a run (the
    best model, early stopping, the plateau schedule) must agree exactly on
    all ranks, or one stops while the others wait for it for ever; every
    rank validates on the same images with the same noise, but agreeing is
    made certain here rather than assumed of the floating point."""
    if world_size() == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t)


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


def seed_rank(seed: int) -> None:
    """Give each rank its own torch RNG stream (after the model is built, so
    every rank starts from the same weights). With one shared stream, rank r's
    i-th image would get the very same noise (reparameterisation, corruption)
    as rank 0's i-th image."""
    if world_size() > 1:
        torch.manual_seed(seed * 1_000_003 + 7919 * rank())


def gather_rng_states(device: torch.device) -> dict[str, torch.Tensor]:
    """Every rank's torch RNG states, gathered on rank 0 for its checkpoint
    (empty elsewhere): the ranks draw different noise, so a resume restores
    each rank's own stream. Collective: every rank must call it together."""
    if world_size() == 1:
        return {}
    comm = device if device.type == "cuda" else torch.device("cpu")   # nccl gathers CUDA tensors only
    states = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    gathered = {}
    for key, state in states.items():
        parts = [torch.empty_like(state, device=comm) for _ in range(world_size())]
        dist.all_gather(parts, state.to(comm))
        gathered.update({f"rank{r}.rng.{key}": part.cpu() for r, part in enumerate(parts)})
    return gathered if is_main() else {}


def restore_rng_state(tensors: dict[str, torch.Tensor], device: torch.device) -> bool:
    """Restore this rank's own RNG states from a checkpoint's tensors; False if
    the checkpoint holds none for it (one process, or another world size)."""
    key = f"rank{rank()}.rng.torch"
    if world_size() == 1 or key not in tensors or f"rank{world_size()}.rng.torch" in tensors:
        return False
    torch.set_rng_state(tensors[key])
    if device.type == "cuda" and f"rank{rank()}.rng.cuda" in tensors:
        torch.cuda.set_rng_state(tensors[f"rank{rank()}.rng.cuda"], device)
    return True


def finish() -> None:
    """Leave the process group together, once rank 0 has written its files.
    A rank that exits while another still works can die in gloo's teardown
    ("terminate called without an active exception", SIGABRT), failing the
    whole torchrun job."""
    if world_size() > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
