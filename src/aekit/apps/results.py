"""Files the jobs write besides pictures: arrays (.npy) and tables (.csv), atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from aekit.fs import atomic_write_text, atomic_write_with


def save_npy(path: str | Path, array: np.ndarray) -> None:
    atomic_write_with(path, lambda tmp: np.save(tmp, np.ascontiguousarray(array), allow_pickle=False))


def save_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def names_or_indices(names: Sequence[str] | None, n: int) -> list[str]:
    """Each image's file name, or its index when the images came as an array."""
    return list(names) if names is not None else [str(i) for i in range(n)]
