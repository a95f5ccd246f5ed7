"""Parsed-array cache: a source file is parsed once, then reloads are instant.

The parsed uint8 array is saved as .npy in $AEKIT_CACHE_DIR if set, else in
$XDG_CACHE_HOME/aekit/parsed (~/.cache/aekit/parsed). Never in the data
folder: a folder given to read from may be shared with other users or
machines, read-only, or someone else's, and writing there (even where the
permissions allow it) changes what every other reader of it finds.

The cache file's name holds the source's SHA-256 prefix (and a parser
version), so a cache built from another version of the file is never used.
A cache file that cannot be read, or holds the wrong shape, is rebuilt.
Caching is an optimisation only: if the folder cannot be written, we just parse.

`remove_stale_builds` is shared by the memory-map caches (aekit.data.mapped,
aekit.data.derived): it sweeps what a killed build left under a temporary name.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np

from aekit.data.paths import user_parsed_cache_dir
from aekit.fs import atomic_open

PARSER_VERSION = 1   # bump when a parser's output changes, to retire old caches
STALE_BUILD_SECONDS = 3600   # a build untouched this long was left by a killed process


def cache_dir() -> Path:
    """The folder of parsed arrays: $AEKIT_CACHE_DIR, else the per-user cache."""
    env = os.environ.get("AEKIT_CACHE_DIR")
    return Path(env).expanduser() if env else user_parsed_cache_dir()


def remove_stale_builds(parent: Path, pattern: str) -> None:
    """Remove the builds matching `pattern` in `parent` (a folder, or a file
    being written under a temporary name) left by a process killed while
    writing: one untouched for STALE_BUILD_SECONDS cannot be a live build,
    which keeps writing into it."""
    now = time.time()
    for tmp in parent.glob(pattern) if parent.is_dir() else ():
        try:
            inside = list(tmp.iterdir()) if tmp.is_dir() else []
            newest = max([tmp.stat().st_mtime] + [f.stat().st_mtime for f in inside])
        except OSError:   # removed meanwhile by its own process
            continue
        if now - newest > STALE_BUILD_SECONDS:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def cache_name(key: str, sha256: str) -> str:
    return f"{key}.{sha256[:16]}.v{PARSER_VERSION}.npy"


def cached_parse(source: Path, sha256: str, parse: Callable[[Path], np.ndarray], *, key: str,
                 shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`parse(source)`, or its cached result. `sha256` must be that of `source`
    (already verified by the caller); `shape`, when known, validates the cache."""
    path = cache_dir() / cache_name(key, sha256)
    array = _load(path, shape)
    if array is None:
        array = parse(source)
        _save(path, array)
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


def _save(path: Path, array: np.ndarray) -> None:
    try:
        with atomic_open(path, "wb") as f:
            np.save(f, array, allow_pickle=False)
    except OSError:
        pass   # an unwritable cache folder only costs a parse next time
