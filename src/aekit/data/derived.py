"""Mapped image arrays made from other mapped arrays, written once into the cache.

A split carved from a memory-mapped .npy (aekit.data.mapped_arrays) and a
class filter of a mapped split (aekit.data.classes) each choose rows of a map.
A Split holds one contiguous tensor, so the chosen rows are copied, a chunk
at a time (CHUNK_BYTES of them resident, read with the map's own `gatherer`),
into a new uint8 .npy in `cache_dir()/derived/KEY.npy`, and that file is
mapped: memory stays bounded by the chunk, the disk holds a second copy of
the rows. KEY hashes what the rows are made of (the source file's identity,
the rows chosen, the conversion's settings), so the same split or filter is
written only once (the key also holds DERIVED_VERSION, and the source's
inode and ctime, so a file rewritten at the same size with its mtime put back,
as `cp -p` or `rsync -t` do, is converted again). The file is written under a
temporary name and renamed (aekit.fs); a temporary file left by a killed
build is removed after STALE_BUILD_SECONDS; the file's size is checked
before each use: a file cut short is written again. Beside it, KEY.json
records whether its pixels are all 0 or 255 (Dataset.binary), found while
writing, so that a later load needs not read them.

A chunk holds CHUNK_BYTES of the rows being converted, counted at the larger
of the source's rows (a float row, and its float temporaries, can be many
times its uint8 result) and the result's.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from aekit.data.cache import cache_dir, remove_stale_builds
from aekit.data.memmap import gatherer, is_mapped, map_npy, map_source, release_pages
from aekit.errors import DataError
from aekit.fs import atomic_open, make_folder

CHUNK_BYTES = 16 << 20   # rows copied at a time: 1,365 64x64 RGB uint8 images
DERIVED_VERSION = 2      # bump when a derived map's layout or conversion changes, to retire old ones


def chunk_rows(row_bytes: int) -> int:
    return max(1, CHUNK_BYTES // max(row_bytes, 1))


def source_identity(images: torch.Tensor) -> dict:
    """What identifies a mapped tensor's content (`array_identity` of its map)."""
    array = map_source(images)
    return array_identity(array, images.data_ptr() - array.ctypes.data, tuple(images.shape))


def array_identity(array: np.memmap, start: int = 0, shape: tuple[int, ...] | None = None) -> dict:
    """What identifies the content of a numpy map (from byte `start` of its
    data, with `shape`): its file (path, size, inode, mtime and ctime: a
    rewrite with the mtime put back still changes the ctime), where in the
    file the data starts, and its shape and dtype."""
    st = os.stat(array.filename)
    return {"file": str(Path(array.filename).resolve()), "size": st.st_size, "inode": st.st_ino,
            "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "offset": array.offset + start,
            "shape": list(array.shape if shape is None else shape), "dtype": array.dtype.str}


def index_digest(index: torch.Tensor) -> str:
    return hashlib.sha256(index.to(torch.int64).contiguous().numpy().tobytes()).hexdigest()


def derived_map(key: dict, n: int, shape: tuple[int, ...], fill: Callable[[int, int], torch.Tensor],
                source_row_bytes: int = 0) -> torch.Tensor:
    """A uint8 [n, *shape] tensor over `cache_dir()/derived/KEY.npy`, whose rows
    [start, stop) are `fill(start, stop)` (called in increasing chunks, only
    when the file is not already there, whole). `source_row_bytes`: the memory
    `fill` holds per row while it makes it (its source rows and temporaries),
    when more than the result's row."""
    key = {**key, "version": DERIVED_VERSION}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / "derived" / f"{digest}.npy"
    remove_stale_builds(path.parent, ".*.tmp")   # aekit.fs's temporary names: .KEY.npy.XXXX.tmp, .KEY.json.XXXX.tmp
    header = {"descr": "|u1", "fortran_order": False, "shape": (n, *shape)}
    row_bytes = int(np.prod(shape))
    if not _whole(path, n * row_bytes):
        try:
            make_folder(path.parent)
            with atomic_open(path) as f:
                np.lib.format.write_array_header_2_0(f, header)
                step, binary = chunk_rows(max(row_bytes, source_row_bytes)), True
                for start in range(0, n, step):
                    rows = fill(start, min(start + step, n))
                    binary = binary and _binary(rows)
                    f.write(np.ascontiguousarray(rows.numpy(), dtype=np.uint8).tobytes())
            # Whether the rows are all 0 or 255 (Dataset.binary), so that a load needs not read them again.
            with atomic_open(path.with_suffix(".json"), "w") as f:
                json.dump({"binary": binary}, f)
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


def only_0_255(images: torch.Tensor) -> bool:
    """Whether every pixel of uint8 `images` is 0 or 255 (binary data): for a
    whole derived map as recorded when it was written, else read a chunk at a
    time (a map's pages released after each)."""
    recorded = _recorded_binary(images)
    if recorded is not None:
        return recorded
    step = chunk_rows(images[0].numel()) if len(images) else 1
    for start in range(0, len(images), step):
        binary = _binary(images[start:start + step])
        release_pages(images)
        if not binary:
            return False
    return True


def _binary(rows: torch.Tensor) -> bool:
    return bool(((rows == 0) | (rows == 255)).all())


def _recorded_binary(images: torch.Tensor) -> bool | None:
    """What derived_map recorded beside the map under `images` (None: not a
    whole derived map, or nothing readable recorded)."""
    if not is_mapped(images):
        return None
    array = map_source(images)
    if images.data_ptr() != array.ctypes.data or tuple(images.shape) != array.shape:
        return None
    try:
        binary = json.loads(Path(array.filename).with_suffix(".json").read_text(encoding="utf-8"))["binary"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return binary if isinstance(binary, bool) else None
