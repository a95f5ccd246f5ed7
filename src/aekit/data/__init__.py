"""Datasets for aekit: built-in (downloaded, verified, cached) and user data.

    from aekit.data import load_dataset
    data = load_dataset("fashion-mnist")          # or "digits-sample" offline, or a path
    x = data.train.images.float() / 255           # uint8 [N, C, H, W] -> [0, 1]

Built-in files live in `default_data_dir()` (laid out as <dir>/<name>/<file>),
are SHA-256-verified before every use, and parse once into a .npy cache.

Names load on first use, so `aekit datasets` (list_datasets) and `fetch` do
not pay for importing torch and Pillow.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

_EXPORTS = {
    "Dataset": "aekit.data.types", "Split": "aekit.data.types",
    "load_dataset": "aekit.data.load",
    "fetch": "aekit.data.download",
    "default_data_dir": "aekit.data.paths",
    "list_datasets": "aekit.data.registry",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from aekit.data.download import fetch
    from aekit.data.load import load_dataset
    from aekit.data.paths import default_data_dir
    from aekit.data.registry import list_datasets
    from aekit.data.types import Dataset, Split


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'aekit.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
