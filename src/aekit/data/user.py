"""User data given as a path: a folder of images, an .npy or an .npz file.

A folder or an .npy may be memory-mapped instead (`memmap`: aekit.data.mapped,
aekit.data.mapped_arrays).

Without its own train/test split, a fixed 10% test split is carved with the
fixed seed `splits.TEST_SEED`, then validation from the rest with `seed`.
"""

from __future__ import annotations

from pathlib import Path


from aekit.data.arrays import read_npy, read_npz
from aekit.data.derived import only_0_255
from aekit.data.folder import decode_plan, plan_folder
from aekit.data.mapped import load_mapped, plan_maps
from aekit.data.mapped_arrays import load_mapped_npy, npy_maps, npz_maps
from aekit.data.splits import TEST_FRACTION, TEST_SEED, carve
from aekit.data.transform import adapt
from aekit.data.types import Dataset, Split
from aekit.errors import DataError


def load_user(path: Path, *, name: str, val_fraction: float, seed: int,
              size: tuple[int, int] | None, channels: int | None, memmap: str = "auto") -> Dataset:
    try:
        return _load_user(path, name, val_fraction, seed, size, channels, memmap)
    except MemoryError:
        raise _no_memory(path, memmap) from None
    except RuntimeError as e:   # torch's allocator says it in its own words
        if "can't allocate memory" not in str(e):
            raise
        raise _no_memory(path, memmap) from None


def _no_memory(path: Path, memmap: str) -> DataError:
    if memmap == "always":
        fix = "give the process more memory"
    elif path.suffix.lower() == ".npz":   # an .npz cannot be mapped: it must become an .npy first
        fix = ("save the images with numpy.save as one .npy (images only), then set data.memmap to always "
               "(--set data.memmap=always) to train from a memory map")
    else:
        fix = "set data.memmap to always (--set data.memmap=always) to train from a memory map"
    return DataError(f"not enough memory to read {path} into memory: {fix}")


def _load_user(path, name, val_fraction, seed, size, channels, memmap) -> Dataset:
    if path.is_dir():
        plan = plan_folder(path, size, channels)
        if plan_maps(plan, memmap):
            return load_mapped(path, plan, name=name, val_fraction=val_fraction, seed=seed)
        parts, classes = decode_plan(plan)   # Pillow already resized / converted
    elif path.suffix.lower() == ".npz":
        npz_maps(path, memmap)   # refuses memmap=always in one line
        parts, classes = read_npz(path)
    elif npy_maps(path, memmap, size, channels):
        return load_mapped_npy(path, name=name, val_fraction=val_fraction, seed=seed, size=size, channels=channels)
    else:
        parts, classes = read_npy(path)
    parts = {k: Split(adapt(s.images, size, channels), s.labels) for k, s in parts.items()}
    if "all" in parts:
        pool, test = carve(parts["all"], TEST_FRACTION, TEST_SEED)
    else:
        pool, test = parts["train"], parts["test"]
    train, val = carve(pool, val_fraction, seed)
    binary = all(only_0_255(s.images) for s in (train, val, test))
    return Dataset(name, train, val, test, classes, binary)

