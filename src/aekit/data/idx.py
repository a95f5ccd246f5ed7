"""IDX files (MNIST, Fashion-MNIST), gzip-compressed or plain.

Format: big-endian u32 magic (2051 images, 2049 labels), then one big-endian
u32 per dimension, then one unsigned byte per value. Every structural fact is
checked, since user-given IDX files are not covered by a known checksum.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from aekit.errors import DataError

IMAGES_MAGIC = 2051   # unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049   # unsigned bytes, 1 dimension
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx_images(path: str | Path) -> np.ndarray:
    """uint8 [N, rows, cols]."""
    return _read_idx(Path(path), IMAGES_MAGIC, "images")


def read_idx_labels(path: str | Path) -> np.ndarray:
    """uint8 [N]."""
    return _read_idx(Path(path), LABELS_MAGIC, "labels")


def _read_idx(path: Path, magic: int, what: str) -> np.ndarray:
    data = _read_bytes(path)
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(data) < 4:
        _corrupt(path, f"{len(data)} bytes, too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path} is not an IDX {what} file (magic number {found}, expected {magic}): "
                        f"give the {what} file, or replace it with an intact copy")
    if len(data) < header:
        _corrupt(path, f"{len(data)} bytes, too short for its {header}-byte header")
    dims = tuple(int.from_bytes(data[4 * i:4 * i + 4], "big") for i in range(1, 1 + ndim))
    if any(d == 0 for d in dims[1:]):
        _corrupt(path, f"header gives a zero dimension {dims}")
    expected = int(np.prod(dims, dtype=np.int64))
    if len(data) - header != expected:
        _corrupt(path, f"header {dims} needs {expected} bytes of data, found {len(data) - header}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or e}): check that it exists and is readable") from None
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        _corrupt(path, "truncated gzip stream")
    except (gzip.BadGzipFile, zlib.error) as e:
        _corrupt(path, f"bad gzip data: {e}")


def _corrupt(path: Path, why: str):
    raise DataError(f"{path} is corrupt ({why}): delete it and run again to re-download, "
                    f"or replace it with an intact copy")
