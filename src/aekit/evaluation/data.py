"""Which images are evaluated: the dataset (the run's own, or the one named),
the split, and a check that they fit the model.

A run's dataset is loaded with the options it trained with (validation
fraction, split seed, image size, channels, the classes it left out or kept),
so its `train` split is the one it trained on (PCA and the probes are fitted
there) and `val` the one it validated on; the test split is always whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from aekit.data import Dataset, Split, load_dataset
from aekit.errors import AekitError
from aekit.evaluation.target import Target

SPLITS = ("test", "val", "train")
# A model file carries no split options: these give the standard splits (the
# test split never depends on them).
DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SPLIT_SEED = 0


@dataclass
class Data:
    name: str
    dataset: Dataset
    split_name: str
    split: Split       # the evaluated images (possibly an evenly spread subset: `limit`)
    own: bool = False  # the run's own data (its class filter applies; it may name an anomaly task)


def load_data(target: Target, data, split: str, limit: int | None) -> Data:
    if split not in SPLITS:
        raise AekitError(f"split {split!r} does not exist: use one of {', '.join(SPLITS)}")
    own = target.config is not None and (data is None or str(data) == str(target.config.data.name))
    dataset, name = _dataset(target, data)
    chosen: Split = getattr(dataset, split)
    if len(chosen) == 0:
        raise AekitError(f"the {split} split of {name} holds no images"
                         + (" (the run's data.val_fraction is 0)" if split == "val" else "") + ": use --split test")
    shape = tuple(int(s) for s in dataset.image_shape)
    if shape != tuple(target.model.input_shape):
        raise AekitError(f"the images of {name} have shape {list(shape)} but the model expects "
                         f"{list(target.model.input_shape)}: give --data with images of the model's shape")
    if limit is not None:
        if limit <= 0:
            raise AekitError(f"limit must be a positive number of images, got {limit}")
        chosen = spread(chosen, limit)
    return Data(name, dataset, split, chosen, own)


def spread(split: Split, count: int) -> Split:
    """`count` images evenly spaced through the split (a split may be sorted by
    label, so its first images can all be one class), labels with them."""
    if len(split) <= count:
        return split
    idx = torch.linspace(0, len(split) - 1, count).round().long()
    return Split(split.images[idx].contiguous(), None if split.labels is None else split.labels[idx])


def _dataset(target: Target, data) -> tuple[Dataset, str]:
    if isinstance(data, Dataset):
        return data, data.name
    cfg = target.config
    if data is None:
        if cfg is None:
            what = "a model in memory" if target.kind == "instance" else f"the model file {target.source}"
            raise AekitError(f"{what} does not say which data it was trained on: give data (--data NAME)")
        if cfg.data.name is None:
            raise AekitError(f"{target.source}/config.yaml names no dataset: give --data NAME")
        data = cfg.data.name
    if not isinstance(data, (str, Path)):
        raise AekitError(f"data must be a dataset name, a path or an aekit Dataset, not {type(data).__name__}")
    if cfg is not None:
        own = str(data) == str(cfg.data.name)   # its class filter (train/val only) belongs to its own data
        ds = load_dataset(str(data), val_fraction=cfg.data.val_fraction, seed=cfg.train.seed,
                          image_size=cfg.data.image_size, channels=cfg.data.channels,
                          exclude_classes=cfg.data.exclude_classes if own else None,
                          only_classes=cfg.data.only_classes if own else None,
                          memmap=cfg.data.memmap)   # a run trained from a map is evaluated from it
    else:
        ds = load_dataset(str(data), val_fraction=DEFAULT_VAL_FRACTION, seed=DEFAULT_SPLIT_SEED)
    return ds, str(data)
