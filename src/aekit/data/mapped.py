"""Image folders larger than memory: decoded once into memory-mapped uint8 files.

A folder is decoded image by image straight into three `.npy` files (train,
val and test, each in the folder's sorted order, carved exactly as the
in-memory path carves them), in `aekit.data.cache.cache_dir()/folders/KEY/`.
KEY hashes each file's path, size and mtime with the settings that change the
pixels or the split (image size, channels, val_fraction, seed): a changed
folder gets a new cache, an unchanged one is decoded only once. The cache
folder is written under a temporary name and renamed when complete, so a
crash never leaves a half-written cache that looks finished; meta.json records
each file's size, and a cache whose files were since cut short or deleted is
decoded again (with one warning line). Build folders left by a killed process are
removed once untouched for an hour (a live build touches its folder with every
image it writes).

The splits' images are then zero-copy tensors over the maps, which the
trainer reads batch by batch (aekit.data.memmap), so the process's resident
memory stays bounded by the batch, not the data.

`data.memmap`: "never" (decode into memory), "always", or "auto": map when
the decoded images would take more than AUTO_FRACTION of the machine's RAM.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from aekit.data.cache import cache_dir, remove_stale_builds
from aekit.data.folder import FolderPlan, decode_image
from aekit.data.memmap import map_npy
from aekit.data.splits import TEST_FRACTION, TEST_SEED, carve_index
from aekit.data.types import Dataset, Split
from aekit.errors import DataError

MEMMAP_MODES = ("auto", "always", "never")
AUTO_FRACTION = 0.25          # of physical RAM: leaves room for the model, optimiser and the OS's file cache
CACHE_VERSION = 1             # bump when the layout or the decoding changes, to retire old caches
SPLITS = ("train", "val", "test")


def check_memmap(mode: str) -> str:
    if mode not in MEMMAP_MODES:
        raise DataError(f"memmap must be one of {', '.join(MEMMAP_MODES)}, got {mode!r}: pass e.g. memmap='auto'")
    return mode


def wants_map(mode: str, nbytes: int) -> bool:
    if mode != "auto":
        return mode == "always"
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return nbytes > AUTO_FRACTION * ram


def plan_maps(plan: FolderPlan, mode: str) -> bool:
    """Whether this folder is to be memory-mapped under `data.memmap` `mode`."""
    n = sum(len(files) for files in plan.files.values())
    return wants_map(mode, n * int(np.prod(plan.image_shape)))


def load_mapped(root: Path, plan: FolderPlan, *, name: str, val_fraction: float, seed: int) -> Dataset:
    """The folder's dataset with every split a memory map (decoded on first use;
    decoded again, with one warning line, if the cache was damaged since)."""
    folder = cache_dir() / "folders" / _key(root, plan, val_fraction, seed)
    remove_stale_builds(folder.parent, "*.tmp-*")   # build folders KEY.tmp-xxxx
    if folder.exists():
        try:
            return _open(folder, name)
        except DamagedCache as e:
            print(f"aekit: warning: the memory-map cache {folder} is damaged ({e}): decoding {root} again",
                  file=sys.stderr)
            shutil.rmtree(folder, ignore_errors=True)
    try:
        _build(folder, plan, val_fraction, seed)
    except OSError as e:
        raise DataError(f"cannot write the memory-map cache of {root} in {folder.parent} ({e.strerror or e}): "
                        "set AEKIT_CACHE_DIR to a writable folder with room for it, "
                        "or set data.memmap to never") from None
    return _open(folder, name)


class DamagedCache(DataError):
    """A finished cache folder whose files are no longer as they were written."""


def _open(folder: Path, name: str) -> Dataset:
    """The cache's splits as maps, each file checked against the size and shape
    that meta.json recorded when it was written."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        sizes, shapes = meta["files"], meta["shapes"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DamagedCache("meta.json unreadable or from an older aekit") from None
    for file, size in sizes.items():
        path = folder / file
        if not path.is_file():
            raise DamagedCache(f"{file} missing")
        if path.stat().st_size != size:
            raise DamagedCache(f"{file} is {path.stat().st_size} bytes, written as {size}")
    splits = {}
    for split in SPLITS:
        labels = folder / f"{split}_labels.npy"
        try:
            images = map_npy(folder / f"{split}.npy")
            targets = torch.from_numpy(np.load(labels, allow_pickle=False)) if labels.is_file() else None
        except (ValueError, OSError, EOFError) as e:   # a header rewritten in place, same size
            raise DamagedCache(f"{split}: {e}") from None
        if list(images.shape) != shapes[split]:
            raise DamagedCache(f"{split}.npy holds {list(images.shape)}, written as {shapes[split]}")
        splits[split] = Split(images, targets)
    classes = tuple(meta["classes"]) if meta["classes"] is not None else None
    return Dataset(name, splits["train"], splits["val"], splits["test"], classes, meta["binary"])


def _key(root: Path, plan: FolderPlan, val_fraction: float, seed: int) -> str:
    entries = []
    for part, files in plan.files.items():
        for path in files:
            st = path.stat()
            entries.append([part, str(path.relative_to(root)), st.st_size, st.st_mtime_ns])
    settings = {"version": CACHE_VERSION, "root": str(root.resolve()), "mode": plan.mode, "size": plan.size,
                "val_fraction": val_fraction, "seed": seed, "files": entries}
    return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:24]


def _destinations(plan: FolderPlan, val_fraction: float, seed: int) -> dict[str, list[tuple[Path, int | None]]]:
    """Each split's (file, label) list, carved as `aekit.data.user` carves in memory."""
    def labelled(part, index):
        labels = plan.labels[part]
        return [(plan.files[part][i], None if labels is None else int(labels[i])) for i in index.tolist()]

    if "all" in plan.files:
        pool_idx, test_idx = carve_index(len(plan.files["all"]), TEST_FRACTION, TEST_SEED)
        pool, test = labelled("all", pool_idx), labelled("all", test_idx)
    else:
        pool = labelled("train", torch.arange(len(plan.files["train"])))
        test = labelled("test", torch.arange(len(plan.files["test"])))
    train_idx, val_idx = carve_index(len(pool), val_fraction, seed)
    return {"train": [pool[i] for i in train_idx.tolist()], "val": [pool[i] for i in val_idx.tolist()],
            "test": test}


def _build(folder: Path, plan: FolderPlan, val_fraction: float, seed: int) -> None:
    """Decode every image into the split files, written with plain sequential
    writes (not through a map, whose dirty pages would count as our memory)."""
    tmp = folder.with_name(f"{folder.name}.tmp-{secrets.token_hex(4)}")
    tmp.mkdir(parents=True)
    try:
        binary = True
        destinations = _destinations(plan, val_fraction, seed)
        for split, entries in destinations.items():
            with open(tmp / f"{split}.npy", "wb") as f:
                np.lib.format.write_array_header_2_0(
                    f, {"descr": "|u1", "fortran_order": False, "shape": (len(entries), *plan.image_shape)})
                for path, _ in entries:
                    row = decode_image(path, plan.mode, plan.size)
                    binary = binary and bool(((row == 0) | (row == 255)).all())
                    f.write(np.ascontiguousarray(row.transpose(2, 0, 1)).tobytes())
            if plan.classes is not None:
                np.save(tmp / f"{split}_labels.npy", np.array([y for _, y in entries], dtype=np.int64))
        # Each file's size and each split's shape, checked on every load (_open):
        # a cache cut short, rewritten or missing a file is decoded again.
        files = {f.name: f.stat().st_size for f in sorted(tmp.iterdir())}
        shapes = {split: [len(entries), *plan.image_shape] for split, entries in destinations.items()}
        meta = {"classes": list(plan.classes) if plan.classes is not None else None, "binary": binary,
                "files": files, "shapes": shapes}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "meta.json").is_file():   # not another process finishing the same cache first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
