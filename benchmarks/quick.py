"""The --quick mode's data: the first n training images of a data set as an
.npy file, which aekit and the hand loops both take as `--data`."""

from __future__ import annotations

import os

import numpy as np

from aekit.data import load_dataset


def subset(data: str, n: int, folder: str) -> str:
    path = os.path.join(folder, f"{data}-{n}.npy")
    np.save(path, load_dataset(data).train.images[:n].numpy())
    return path
