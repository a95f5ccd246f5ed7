"""SHA-256 verification of source files, before anything parses them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from aekit.errors import DataError

CHUNK = 1 << 20   # hash in 1 MiB reads: flat memory whatever the file size


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path, expected: str) -> None:
    """Raise DataError unless the file at `path` has SHA-256 `expected`."""
    try:
        actual = sha256_file(path)
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or e}): check its permissions, or delete it "
                        f"and run again to re-download") from None
    if actual != expected:
        raise DataError(
            f"{path} has the wrong checksum (sha256 {actual[:12]}..., expected {expected[:12]}...): "
            f"it is corrupt or not the published file; delete it and run again to re-download, "
            f"or set AEKIT_DATA_DIR to a folder holding the original files")
