"""Mapped image arrays made from other mapped arrays, written once into the cache.

A split carved from a memory-mapped .npy (aekit.data.mapped_arrays) and a
class filter of a mapped split (aekit.data.classes) each choose rows of a map.
A Split holds one contiguous tensor, so the chosen rows are copied, a chunk
at a time (CHUNK_BYTES of them resident, read with the map's own `gatherer`),
into a new uint8 .npy in `cache_dir()/derived/KEY.npy`, and that file is
mapped: memory stays bounded by the chunk, the disk holds a second copy of
the rows. KEY hashes what the rows are made of (the source file's identity,
the rows chosen, the conversion's settings), so the same split or filter is
written only once. The file is written under a temporary name and renamed
(aekit.fs), and its size is checked before each use: a file cut short is written again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from aekit.data.cache import cache_dir
from aekit.data.memmap import gatherer, is_mapped, map_npy, map_source
from aekit.errors import DataError
from aekit.fs import atomic_open, make_folder

CHUNK_BYTES = 16 << 20   # rows copied at a time: 1,365 64x64 RGB images


def chunk_rows(row_bytes: int) -> int:
    return max(1, CHUNK_BYTES // max(row_bytes, 1))


def source_identity(images: torch.Tensor) -> dict:
    """What identifies a mapped tensor's content: its file (path, size, mtime),
    where in the file the tensor starts, and its shape and dtype."""
    array = map_source(images)
    st = os.stat(array.filename)
    start = images.data_ptr() - array.ctypes.data
    return {"file": str(Path(array.filename).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "offset": array.offset + start, "shape": list(images.shape), "dtype": str(array.dtype)}


def index_digest(index: torch.Tensor) -> str:
    return hashlib.sha256(index.to(torch.int64).contiguous().numpy().tobytes()).hexdigest()


def derived_map(key: dict, n: int, shape: tuple[int, ...], fill: Callable[[int, int], torch.Tensor]) -> torch.Tensor:
    """A uint8 [n, *shape] tensor over `cache_dir()/derived/KEY.npy`, whose rows
    [start, stop) are `fill(start, stop)` (called in increasing chunks, only
    when the file is not already there, whole)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / "derived" / f"{digest}.npy"
    header = {"descr": "|u1", "fortran_order": False, "shape": (n, *shape)}
    row_bytes = int(np.prod(shape))
    if not _whole(path, n * row_bytes):
        try:
            make_folder(path.parent)
            with atomic_open(path) as f:
                np.lib.format.write_array_header_2_0(f, header)
                step = chunk_rows(row_bytes)
                for start in range(0, n, step):
                    rows = fill(start, min(start + step, n))
                    f.write(np.ascontiguousarray(rows.numpy(), dtype=np.uint8).tobytes())
        except OSError as e:
            raise DataError(f"cannot write the memory-map cache file {path} ({e.strerror or e}): set "
                            f"AEKIT_CACHE_DIR to a writable folder with room for it, or set data.memmap "
                            f"to never") from None
    return map_npy(path)


def _whole(path: Path, data_bytes: int) -> bool:
    """The file exists with its header and every byte of its rows."""
    try:
        with open(path, "rb") as f:
            np.lib.format.read_magic(f)
            np.lib.format.read_array_header_2_0(f)
            return os.fstat(f.fileno()).st_size == f.tell() + data_bytes
    except (OSError, ValueError):
        return False


def take_mapped(images: torch.Tensor, index: torch.Tensor, why: str) -> torch.Tensor:
    """The rows `index` (increasing) of a mapped tensor, as a mapped tensor of
    their own (a derived map; the source's own map when `index` is every row)."""
    if not is_mapped(images):
        raise ValueError("take_mapped needs a memory-mapped tensor")
    if len(index) == len(images) and bool((index == torch.arange(len(images))).all()):
        return images
    gather = gatherer(images)
    key = {"what": why, "source": source_identity(images), "index": index_digest(index)}
    return derived_map(key, len(index), tuple(images.shape[1:]), lambda a, b: gather(index[a:b]))
