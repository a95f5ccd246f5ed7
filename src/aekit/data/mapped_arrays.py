"""A .npy file larger than memory: its splits as memory maps.

With `data.memmap` always (or auto, for an array that would take more than
a quarter of the RAM), `--data images.npy` is opened with
`numpy.load` with `mmap_mode="r"`, never read whole. Its train, val and test splits
(carved as aekit.data.user carves in memory: the fixed 10% test split, then
validation with `seed`) are rows of that map in a new order, converted to
uint8 [N, C, H, W] at the asked size and channels: each is written once, a
chunk at a time, into a derived map in the cache (aekit.data.derived) and
trained from there, so the same losses as in memory with memory bounded by
the chunk and the batch.

An .npz archive cannot be mapped (numpy reads its members whole, and a
compressed one has no bytes to map): `memmap=always` on one is refused in
one line, `auto` reads it into memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from aekit.data.arrays import channels_first, check_pixel_type, numpy_read, to_uint8
from aekit.data.derived import array_identity, derived_map, index_digest, only_0_255
from aekit.data.mapped import wants_map
from aekit.data.memmap import read_rows
from aekit.data.splits import TEST_FRACTION, TEST_SEED, carve_index
from aekit.data.transform import adapt
from aekit.data.types import Dataset, Split
from aekit.errors import DataError

KEY = "the array"   # how errors name the one array of a .npy (as aekit.data.arrays.read_npy)


def npz_maps(path: Path, memmap: str) -> bool:
    """Always False (an .npz is read into memory); a one-line DataError for memmap=always."""
    if memmap == "always":
        raise DataError(f"{path} is an .npz archive, which cannot be memory-mapped (numpy reads its arrays "
                        f"whole): save the images with numpy.save as one .npy (images only), or set "
                        f"data.memmap to never or auto")
    return False


def open_npy(path: Path) -> np.memmap:
    """The .npy's array as a read-only numpy map (any dtype and byte order,
    C order); a file that is not one plain array fails as aekit.data.arrays
    says it in memory."""
    with numpy_read(path, None, "save it with numpy.save"):
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as e:
            if "Python objects" in str(e):   # numpy's words for a pickled array it will not map
                raise ValueError("allow_pickle") from None
            raise
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"{path} is an .npz archive, not a single array: rename it to .npz")
    if array.ndim > 1 and not array.flags.c_contiguous:
        # Its rows are not contiguous in the file: reading one would take the whole file.
        raise DataError(f"{path} is saved in Fortran order, which cannot be read a row at a time from a "
                        f"memory map: save it in C order (np.save(p, np.ascontiguousarray(a))), or set "
                        f"data.memmap to never")
    return array


def npy_maps(path: Path, memmap: str, size: tuple[int, int] | None, channels: int | None) -> bool:
    """Whether this .npy is to be trained from a map under `data.memmap` `memmap`
    ("auto": from its header alone; a header that does not parse, or a layout
    aekit does not read, goes to the in-memory reader, which says what is wrong)."""
    if memmap != "auto":
        return memmap == "always"
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = reader(f)
    except (OSError, ValueError, SyntaxError, TypeError):
        return False
    if fortran_order and len(shape) > 1:
        return False   # cannot be mapped (open_npy); in memory numpy reads it
    # In memory the whole source is read first, then its uint8 splits are made beside it
    # (converted, or carved: copies either way).
    source_bytes = int(np.prod(shape)) * dtype.itemsize
    if len(shape) == 3:
        shape = (shape[0], 1, *shape[1:])
    elif len(shape) == 4 and shape[3] in (1, 3):
        shape = (shape[0], shape[3], *shape[1:3])
    elif len(shape) != 4:
        return False
    n, c, h, w = shape
    h, w = size or (h, w)
    return wants_map("auto", source_bytes + n * (channels or c) * h * w)


def load_mapped_npy(path: Path, *, name: str, val_fraction: float, seed: int, size: tuple[int, int] | None,
                    channels: int | None) -> Dataset:
    source = open_npy(path)
    channels_first(source, path, KEY)   # the layout checked before any work
    check_pixel_type(source, path, KEY)
    if not len(source):
        raise DataError(f"{path} holds no images: save at least one")

    def convert(index: torch.Tensor) -> torch.Tensor:
        # Rows read with numpy in the file's own dtype and byte order, then
        # converted as in memory (in place: the rows are this chunk's own copy).
        rows = read_rows(source, index.numpy())
        pixels = to_uint8(channels_first(rows, path, KEY), path, KEY, in_place=True)
        return adapt(torch.from_numpy(np.ascontiguousarray(pixels)), size, channels)

    shape = tuple(convert(torch.arange(1)).shape[1:])
    # Per output row, a chunk holds the source row, its uint8 pixels and, when
    # resized, their float32 copy at the source size and the float32 result.
    pixels = int(np.prod(source.shape[1:]))
    source_row_bytes = source.dtype.itemsize * pixels + pixels + (4 * (pixels + int(np.prod(shape))) if size else 0)
    pool, test = carve_index(len(source), TEST_FRACTION, TEST_SEED)
    train, val = carve_index(len(pool), val_fraction, seed)
    identity = array_identity(source)
    splits = {}
    for split, index in (("train", pool[train]), ("val", pool[val]), ("test", test)):
        key = {"what": "npy split", "source": identity, "split": split, "index": index_digest(index),
               "size": size, "channels": channels}
        # carve_index's rows are increasing within a split, as read_rows needs.
        images = derived_map(key, len(index), shape, lambda a, b, i=index: convert(i[a:b]), source_row_bytes)
        splits[split] = Split(images)
    binary = all(only_0_255(s.images) for s in splits.values())
    return Dataset(name, splits["train"], splits["val"], splits["test"], None, binary)
