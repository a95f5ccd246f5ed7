"""Binarized MNIST `.amat` text files, parsed without a per-value Python loop.

Every line is exactly 784 characters '0'/'1', each followed by a space, the
last by a newline: 1568 bytes. So the whole file is one uint8 matrix of
[lines, 1568]; even columns are the pixels, odd columns the separators.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aekit.errors import DataError

SIDE = 28
LINE_BYTES = 2 * SIDE * SIDE
_ZERO, _ONE, _SPACE, _NEWLINE = ord("0"), ord("1"), ord(" "), ord("\n")


def read_amat(path: str | Path) -> np.ndarray:
    """uint8 [N, 28, 28] with pixels 0 or 255."""
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or e}): check that it exists and is readable") from None
    if raw.size % LINE_BYTES:
        _bad_line(path, _first_bad_length(raw))
    rows = raw.reshape(-1, LINE_BYTES)
    pixels, seps = rows[:, 0::2], rows[:, 1::2]
    # b | 1 == '1' holds exactly for b in {'0', '1'}.
    bad = ((pixels | 1) != _ONE).any(axis=1) | (seps[:, :-1] != _SPACE).any(axis=1) | (seps[:, -1] != _NEWLINE)
    if bad.any():
        _bad_line(path, int(np.flatnonzero(bad)[0]))
    return ((pixels == _ONE).astype(np.uint8) * np.uint8(255)).reshape(-1, SIDE, SIDE)


def _first_bad_length(raw: np.ndarray) -> int:
    """Index of the first line that is not LINE_BYTES long (some line must be)."""
    ends = np.flatnonzero(raw == _NEWLINE) + 1
    lengths = np.diff(ends, prepend=0)
    wrong = np.flatnonzero(lengths != LINE_BYTES)
    return int(wrong[0]) if wrong.size else len(ends)   # else: trailing bytes without a newline


def _bad_line(path: Path, index: int):
    raise DataError(f"{path} line {index + 1} is not 784 values '0'/'1' separated by single spaces "
                    f"({LINE_BYTES} bytes with the newline): the file is corrupt; delete it and run "
                    f"again to re-download")
