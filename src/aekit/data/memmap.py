"""Tensors over memory-mapped files, and reading batches from them.

`map_npy` gives a zero-copy tensor over a .npy file; every consumer sees a
plain CPU uint8 tensor. The trainer gathers each batch with `gatherer`: the
rows are read from the map's file in increasing order, with one pread each
into the batch's own buffer, then put back in the seeded order (so a run
matches the in-memory one exactly). Reads, not page faults on the map: the
kernel maps a whole page-cache folio on a fault (measured on this ext4: one
batch of 128 random 12 KB rows faulted in 58 MB, the whole file), so faults
would bound memory by the folio size times the batch, not by the batch.
Sequential readers of the map (validation's chunks) call `release_pages`
after each chunk, which hands the pages back (madvise DONTNEED: the file stays
in the kernel's cache, but no longer counts as this process's memory).

That bound also needs glibc's malloc to give each step's freed batch tensors
back: Trainer.fit calls aekit.cpu.return_large_blocks when it trains from a
map (train.bounded_malloc; measured there).
Numpy and torch only: the trainer imports this.
"""

from __future__ import annotations

import mmap
import os
import warnings
import weakref
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from aekit.errors import DataError

# data_ptr of a mapped tensor -> its numpy memmap, for `gatherer` and `release_pages`.
_MAPS: "weakref.WeakValueDictionary[int, np.memmap]" = weakref.WeakValueDictionary()


def is_mapped(images: torch.Tensor) -> bool:
    return images.numel() > 0 and images.data_ptr() in _MAPS


def map_source(images: torch.Tensor) -> np.memmap:
    """The numpy map under a mapped tensor (`is_mapped`)."""
    return _MAPS[images.data_ptr()]


def gatherer(images: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function from indices [B] to the rows at them (uint8 [B, C, H, W] for
    a split; any dtype and row shape for a mapped source array), on the
    indices' device. In memory: a row gather. From a map: the rows are read
    in increasing order (sequential reads), then put back in the asked order."""
    if not is_mapped(images):
        # index_select, not images[idx]: a plain row gather, ~10x faster than
        # advanced indexing on uint8 (88 vs 6 us for 512 MNIST images here).
        return lambda idx: images.index_select(0, idx)
    array = _MAPS[images.data_ptr()]

    def gather(idx: torch.Tensor) -> torch.Tensor:
        ordered, where = idx.cpu().sort()
        rows = torch.from_numpy(read_rows(array, ordered.numpy()))
        return torch.empty_like(rows).index_copy_(0, where, rows).to(idx.device)

    return gather


def read_rows(array: np.memmap, index: np.ndarray) -> np.ndarray:
    """The rows `index` (increasing) of a C-ordered numpy map, read from its
    file with one pread each into a new array of the map's own dtype (any
    byte order or width: numpy converts it, not this)."""
    if array.ndim and not array.flags.c_contiguous:
        raise ValueError("read_rows needs a C-ordered map")
    row_bytes = array[0].nbytes if len(array) else 0
    rows = np.empty((len(index), *array.shape[1:]), dtype=array.dtype)
    fd = os.open(array.filename, os.O_RDONLY)
    try:
        for j, i in enumerate(index.tolist()):
            if os.preadv(fd, [rows[j]], array.offset + i * row_bytes) != row_bytes:
                raise DataError(f"{array.filename} changed (it is now shorter) while aekit was reading it: "
                                f"leave it unchanged while it is in use, and run again")
    finally:
        os.close(fd)
    return rows


def release_pages(images: torch.Tensor) -> None:
    """Drop a mapped tensor's pages from this process's resident memory (the
    file stays in the kernel's cache); nothing for an in-memory tensor."""
    array = _MAPS.get(images.data_ptr()) if images.numel() else None
    if array is not None and hasattr(mmap, "MADV_DONTNEED"):
        array._mmap.madvise(mmap.MADV_DONTNEED)


def map_npy(path: Path) -> torch.Tensor:
    """A .npy file as a tensor over its memory map (no copy), read-only.

    Read-only and shared ("r"), not copy-on-write ("c"): Linux counts a
    private writable mapping in RLIMIT_DATA (and in a container's commit
    charge) at its full size the moment it is made, a read-only shared one
    not at all (benchmarks/rlimit_map.py, Linux 6.18, 2026-11-30: under
    RLIMIT_DATA 200 MiB a 300 MiB .npy mapped "r" was read whole; mapped "c"
    it failed with ENOMEM). Nothing in aekit writes into a split's images; a write would
    fault."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    with warnings.catch_warnings():   # torch warns that the array is not writable: see above
        warnings.simplefilter("ignore", UserWarning)
        tensor = torch.from_numpy(array)
    if tensor.numel():
        _MAPS[tensor.data_ptr()] = array
    return tensor
