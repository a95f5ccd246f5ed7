"""`load_dataset`: one entry point for built-in names and user paths."""

from __future__ import annotations

import os
from pathlib import Path

from aekit.data.builtin import load_builtin
from aekit.data.classes import filter_classes
from aekit.data.mapped import check_memmap
from aekit.data.registry import BUILTINS
from aekit.data.splits import check_val_fraction
from aekit.data.transform import adapt, check_channels, check_image_size
from aekit.data.types import Dataset, Split
from aekit.data.user import load_user
from aekit.errors import DataError, did_you_mean

USER_SUFFIXES = (".npy", ".npz")


def load_dataset(source: str | os.PathLike, *, val_fraction: float = 0.1, seed: int = 0,
                 image_size: int | tuple[int, int] | None = None, channels: int | None = None,
                 data_dir: str | os.PathLike | None = None, download: bool = True,
                 exclude_classes: list[int | str] | None = None, only_classes: list[int | str] | None = None,
                 memmap: str = "auto") -> Dataset:
    """Load a built-in dataset by name, or user data from a folder / .npy / .npz path.

    Built-in names win over a same-named folder in the working directory (give
    "./mnist" for the folder). Pixels are uint8 0..255 in every split.

    val_fraction: share of the training images held out for validation (0..0.9),
        drawn with `seed`. binarized-mnist has its own 50k / 10k split, kept
        for any fraction but 0, which folds its validation images into training.
    image_size: resize every image to this (int or (height, width)).
    channels: 1 (grey) or 3 (RGB); None keeps the source's.
    data_dir: where built-in files live / are downloaded (default: default_data_dir()).
    download: fetch missing built-in files (never when AEKIT_OFFLINE=1).
    exclude_classes / only_classes: class indices or names to leave out of /
        keep alone in the train and validation splits (the test split stays
        whole); see aekit.data.classes.
    memmap: for an image folder or an .npy file, "always" decodes it once
        into memory-mapped files and trains from them, "never" into memory,
        "auto" maps it when it would take more than a quarter of the RAM (see
        aekit.data.mapped and aekit.data.mapped_arrays; an .npz cannot be
        mapped). A class filter keeps a mapped split mapped. A mapped
        split's images are read-only maps: writing into them (e.g.
        `ds.train.images[0] += 1`) kills the process with a segmentation
        fault (torch has no read-only tensors); `.clone()` them first.
    """
    return filter_classes(_load(source, val_fraction, seed, image_size, channels, data_dir, download, memmap),
                          exclude=exclude_classes, only=only_classes)


def _load(source, val_fraction, seed, image_size, channels, data_dir, download, memmap) -> Dataset:
    val_fraction = check_val_fraction(val_fraction)
    memmap = check_memmap(memmap)
    size = check_image_size(image_size)
    channels = check_channels(channels)
    if isinstance(source, str) and source in BUILTINS:
        info = BUILTINS[source]
        train, val, test = load_builtin(info, val_fraction=val_fraction, seed=seed,
                                        data_dir=data_dir, download=download)
        resized = size is not None and size != tuple(train.images.shape[2:])
        train, val, test = (Split(adapt(s.images, size, channels), s.labels) for s in (train, val, test))
        return Dataset(info.name, train, val, test, info.classes, info.binary and not resized)
    path = Path(source).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix.lower() in USER_SUFFIXES):
        return load_user(path, name=str(source), val_fraction=val_fraction, seed=seed, size=size, channels=channels,
                         memmap=memmap)
    if path.exists():
        raise DataError(f"{path} is not a folder, .npy or .npz file: point --data at a folder of images "
                        f"or a .npy/.npz array file")
    raise DataError(f"unknown dataset or path {str(source)!r}{did_you_mean(source, BUILTINS)}: use one of {', '.join(BUILTINS)}, "
                    f"or a folder/.npy/.npz path")
