"""How the images of a split are shared among processes, so that any number
of them gives the figures of one.

The split is cut into fixed chunks of CHUNK images; chunk c belongs to rank
c mod world size (one process: every chunk is its own). Everything random
in a chunk (the ELBO's sampled code, a denoiser's noise, the NLL's
importance samples) is drawn from a seed of its own, `chunk_seed(seed,
section, c)`, and every chunk is computed as one batch: chunk c gives the
same numbers on whichever rank computes it, so a torchrun job differs from
one process only in the order in which the chunks' float64 sums are added.

Collectives (`reduce_sums`, `gather_chunks`, `broadcast_record`) must be
called by every rank together, in the same order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch
import torch.distributed as dist

from aekit.training import distributed

CHUNK = 500   # images per chunk: one forward batch (~1.6 MB of 784-pixel floats), many per rank
SECTIONS = {"elbo": 1, "nll": 2, "denoising": 3}


def chunk_seed(seed: int, section: str, chunk: int) -> int:
    """A seed of its own for each (section, chunk): two sections never share
    a stream, and a chunk draws the same noise on any rank."""
    return (seed * 1_000_003 + SECTIONS[section] * 100_003 + chunk * 7_919) % 2**62


@dataclass(frozen=True)
class Chunk:
    index: int      # its position among all the split's chunks
    start: int
    stop: int

    def __len__(self) -> int:
        return self.stop - self.start


def all_chunks(n: int, size: int = CHUNK) -> list[Chunk]:
    return [Chunk(i, start, min(start + size, n)) for i, start in enumerate(range(0, n, size))]


def my_chunks(n: int, size: int = CHUNK) -> list[Chunk]:
    """This rank's chunks of a split of `n` images."""
    world, rank = distributed.world_size(), distributed.rank()
    return [c for c in all_chunks(n, size) if c.index % world == rank]


def _comm_device() -> torch.device:
    """Where collectives want their tensors: CUDA for nccl, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def reduce_sums(sums: dict[str, float]) -> dict[str, float]:
    """Each key's float64 sum over every rank (the same dict on one process)."""
    if distributed.world_size() == 1 or not sums:
        return dict(sums)
    keys = sorted(sums)
    t = torch.tensor([float(sums[k]) for k in keys], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return dict(zip(keys, t.cpu().tolist()))


def gather_chunks(n: int, parts: list[torch.Tensor], width: int, dtype: torch.dtype = torch.float64,
                  size: int = CHUNK) -> torch.Tensor:
    """Rows computed per chunk by each rank ([len(chunk), width] each, in
    this rank's chunk order; a rank may hold none) → every chunk's rows in
    the split's order on every rank: [n, width], what one process computes."""
    if distributed.world_size() == 1:
        return torch.cat(parts).cpu() if parts else torch.empty(0, width, dtype=dtype)
    world = distributed.world_size()
    chunks = all_chunks(n, size)
    per_rank = [[c for c in chunks if c.index % world == r] for r in range(world)]
    rows = [sum(len(c) for c in mine) for mine in per_rank]
    comm = _comm_device()
    padded = torch.zeros(max(rows), width, dtype=dtype, device=comm)
    if parts:
        local = torch.cat(parts)
        padded[: len(local)] = local.to(comm, dtype)
    gathered = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded)
    out = torch.empty(n, width, dtype=dtype)
    for r, mine in enumerate(per_rank):
        at = 0
        for c in mine:
            out[c.start:c.stop] = gathered[r][at:at + len(c)].cpu()
            at += len(c)
    return out


def broadcast_record(record: dict | None) -> dict:
    """Rank 0's record (JSON-able) on every rank: sections computed on rank 0
    alone (the probes) reach the others, so every rank returns the same
    record. Sent as JSON bytes, never pickled."""
    if distributed.world_size() == 1:
        return record
    comm = _comm_device()
    data = json.dumps(record).encode() if distributed.is_main() else b""
    size = torch.tensor([len(data)], dtype=torch.int64, device=comm)
    dist.broadcast(size, 0)
    buf = (torch.frombuffer(bytearray(data), dtype=torch.uint8).to(comm) if distributed.is_main()
           else torch.empty(int(size), dtype=torch.uint8, device=comm))
    dist.broadcast(buf, 0)
    return json.loads(bytes(buf.cpu().tolist()).decode()) if not distributed.is_main() else record
