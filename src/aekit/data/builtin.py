"""Assemble a built-in dataset: fetch (verify) its files, parse (or reuse the
parsed cache), and form the train / val / test splits."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from aekit.data.amat import read_amat
from aekit.data.cache import cached_parse
from aekit.data.checksum import sha256_file
from aekit.data.download import fetch
from aekit.data.idx import read_idx_images, read_idx_labels
from aekit.data.paths import default_data_dir
from aekit.data.registry import Builtin
from aekit.data.sample import PIXELS, read_digits_csv, sample_path
from aekit.data.splits import carve
from aekit.data.types import Split

# digits-sample rows are sorted by label (500 per digit), so a block of rows
# would be a test set of two digits only: every fifth row is a fixed,
# stratified test set of 1,000 images (100 per digit) instead.
SAMPLE_TEST_EVERY = 5


def load_builtin(info: Builtin, *, val_fraction: float, seed: int,
                 data_dir: str | os.PathLike | None, download: bool) -> tuple[Split, Split, Split]:
    """(train, val, test) of a built-in dataset, at its native size."""
    if info.format == "sample":
        return _load_sample(val_fraction, seed)
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    paths = fetch(info.name, data_dir=folder, download=download)
    arrays = {}
    for file in info.files:
        if info.format == "amat":
            parse = read_amat
        else:
            parse = read_idx_images if file.role.endswith("_images") else read_idx_labels
        arrays[file.role] = cached_parse(paths[file.role], file.sha256, parse, key=f"{info.name}.{file.name}",
                                         shape=file.shape)
    if info.format == "amat":
        train, val, test = (Split(_nchw(arrays[role])) for role in ("train", "val", "test"))
        if val_fraction == 0:
            # Its own validation split folded into training (60k images), as
            # published final models on this set are trained; any other
            # fraction keeps the published 50k / 10k split.
            train, val = Split(torch.cat([train.images, val.images])), Split(val.images[:0])
        return train, val, test
    pool = Split(_nchw(arrays["train_images"]), _int64(arrays["train_labels"]))
    test = Split(_nchw(arrays["test_images"]), _int64(arrays["test_labels"]))
    train, val = carve(pool, val_fraction, seed)
    return train, val, test


def _load_sample(val_fraction: float, seed: int) -> tuple[Split, Split, Split]:
    path = sample_path()
    table = cached_parse(path, sha256_file(path), read_digits_csv, key="digits-sample.mnist_5k.csv.gz")
    images = _nchw(np.ascontiguousarray(table[:, :PIXELS]).reshape(-1, 28, 28))
    labels = _int64(table[:, PIXELS])
    is_test = torch.arange(len(table)) % SAMPLE_TEST_EVERY == SAMPLE_TEST_EVERY - 1
    test = Split(images[is_test].contiguous(), labels[is_test])
    pool = Split(images[~is_test].contiguous(), labels[~is_test])
    train, val = carve(pool, val_fraction, seed)
    return train, val, test


def _nchw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(1)


def _int64(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.int64))
