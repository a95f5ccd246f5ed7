"""Parsed-array cache: a source file is parsed once, then reloads are instant.

The parsed uint8 array is saved as .npy in the first usable folder of:
$AEKIT_CACHE_DIR if set; else <data_dir>/.parsed/ if the data folder is
writable; else $XDG_CACHE_HOME/aekit/parsed (~/.cache/aekit/parsed).

The cache file's name holds the source's SHA-256 prefix (and a parser
version), so a cache built from another version of the file is never used.
A cache file that cannot be read, or holds the wrong shape, is rebuilt.
Caching is an optimisation only: if no folder can be written, we just parse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from aekit.data.paths import is_writable_dir, user_parsed_cache_dir
from aekit.fs import atomic_open

PARSER_VERSION = 1   # bump when a parser's output changes, to retire old caches


def cache_dirs(data_dir: Path | None) -> list[Path]:
    """Candidate cache folders, best first."""
    env = os.environ.get("AEKIT_CACHE_DIR")
    if env:
        return [Path(env).expanduser()]
    folders = []
    if data_dir is not None:
        parsed = Path(data_dir) / ".parsed"
        if is_writable_dir(parsed) or (not os.path.lexists(parsed) and is_writable_dir(Path(data_dir))):
            folders.append(parsed)
    folders.append(user_parsed_cache_dir())
    return folders


def cache_name(key: str, sha256: str) -> str:
    return f"{key}.{sha256[:16]}.v{PARSER_VERSION}.npy"


def cached_parse(source: Path, sha256: str, parse: Callable[[Path], np.ndarray], *, key: str,
                 data_dir: Path | None = None, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`parse(source)`, or its cached result. `sha256` must be that of `source`
    (already verified by the caller); `shape`, when known, validates the cache."""
    name = cache_name(key, sha256)
    folders = cache_dirs(data_dir)
    for folder in folders:
        array = _load(folder / name, shape)
        if array is not None:
            return array
    array = parse(source)
    for folder in folders:
        if _save(folder / name, array):
            break
    return array


def _load(path: Path, shape: tuple[int, ...] | None) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except Exception:  # noqa: BLE001 - any damage to a cache file just means "rebuild it"
        return None
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or (shape is not None and array.shape != shape):
        return None
    return array


def _save(path: Path, array: np.ndarray) -> bool:
    try:
        with atomic_open(path, "wb") as f:
            np.save(f, array, allow_pickle=False)
    except OSError:
        return False
    return True
