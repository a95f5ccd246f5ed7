"""Image arrays saved by numpy: `.npy` (images only) and `.npz`.

Accepted layouts: [N, H, W], [N, H, W, C] or [N, C, H, W] with C 1 or 3
(channels-last wins when both readings are possible, as numpy/Keras data is
channels-last); pixels uint8 0..255 or float 0..1. An `.npz` holds either the
Keras mnist.npz keys x_train, y_train, x_test, y_test, or `images` with
optional `labels`. Labels may be any integers or strings: the classes are
their sorted unique values, and a label is its index into that list.
Pickled (object) arrays are refused: loading one can run arbitrary code.
"""

from __future__ import annotations

import contextlib
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from aekit.data.types import Split
from aekit.errors import DataError

_LAYOUT = "save images as [N, H, W], [N, H, W, C] or [N, C, H, W] with C 1 or 3"


def read_npy(path: Path) -> tuple[dict[str, Split], None]:
    array = load_array(path, "rename it to .npz")
    return {"all": Split(_images(array, path, "the array"))}, None


def load_array(path: Path, npz_fix: str, fix: str = "save it with numpy.save") -> np.ndarray:
    """The one array of the .npy file `path` (numbers only; never a pickle), or a
    one-line DataError: `fix` says how to mend an unreadable file, `npz_fix` what
    to do with an .npz archive given where one array was wanted."""
    array = _load(path, fix)
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"{path} is an .npz archive, not a single array: {npz_fix}")
    return array


def read_npz(path: Path) -> tuple[dict[str, Split], tuple[str, ...] | None]:
    archive = _load(path)
    if isinstance(archive, np.ndarray):
        raise DataError(f"{path} holds a single array, not an .npz archive: rename it to .npy")
    with archive:
        keys = set(archive.files)
        if {"x_train", "x_test"} <= keys:
            pairs = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
        elif "images" in keys:
            pairs = {"all": ("images", "labels")}
        else:
            raise DataError(f"{path} holds arrays {sorted(keys)}: expected x_train, y_train, x_test, y_test "
                            f"(the Keras mnist.npz layout) or images (+ labels)")
        has_labels = [y in keys for _, y in pairs.values()]
        if any(has_labels) and not all(has_labels):
            raise DataError(f"{path} has labels for only some splits: save both y_train and y_test, or neither")
        images = {part: _images(_member(archive, x, path), path, x) for part, (x, _) in pairs.items()}
        if not all(has_labels):
            return {part: Split(x) for part, x in images.items()}, None
        raw = {part: _labels(_member(archive, y, path), len(images[part]), path, y) for part, (_, y) in pairs.items()}

    classes, codes = np.unique(np.concatenate(list(raw.values())), return_inverse=True)
    codes = torch.from_numpy(codes.reshape(-1).astype(np.int64))
    splits, start = {}, 0
    for part, x in images.items():
        splits[part] = Split(x, codes[start:start + len(x)].clone())
        start += len(x)
    return splits, tuple(c.decode(errors="replace") if isinstance(c, bytes) else str(c) for c in classes.tolist())


def _load(path: Path, fix: str = "save it with numpy.save / numpy.savez"):
    with numpy_read(path, None, fix):
        return np.load(path, allow_pickle=False)


def _member(archive, key: str, path: Path) -> np.ndarray:
    with numpy_read(path, key, "save it again with numpy.savez"):
        return archive[key]


@contextlib.contextmanager
def numpy_read(path: Path, key: str | None, fix: str):
    """numpy's read errors as one-line DataErrors; a pickled array is named as such."""
    what = f"array {key} of {path}" if key else str(path)
    try:
        yield
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise DataError(f"{what} holds Python objects (a pickled array), which aekit does not load: "
                            f"save numbers instead (uint8 0..255 or float 0..1)") from None
        raise DataError(f"cannot read {what} ({e}): {fix}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, SyntaxError, tokenize.TokenError, struct.error,
            KeyError, TypeError, NotImplementedError, RuntimeError) as e:
        # numpy parses a header by literal_eval and a zip by zipfile: a damaged file fails in their own terms
        # (zipfile: NotImplementedError for a compression method or flag it lacks, RuntimeError for encryption).
        raise DataError(f"cannot read {what} ({type(e).__name__}: {e}): {fix}") from None


def _images(array: np.ndarray, path: Path, key: str) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(to_uint8(channels_first(array, path, key), path, key)))


def channels_first(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """A view of the images `array` as [N, C, H, W] (no copy; a .npy's map stays a map)."""
    if array.ndim == 3:
        return array[:, None]
    if array.ndim == 4 and array.shape[3] in (1, 3):
        return array.transpose(0, 3, 1, 2)
    if not (array.ndim == 4 and array.shape[1] in (1, 3)):
        raise DataError(f"{key} in {path} has shape {list(array.shape)}: {_LAYOUT}")
    return array


def check_pixel_type(array: np.ndarray, path: Path, key: str) -> None:
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{key} in {path} holds {array.dtype} pixels: save uint8 0..255 (array.astype(np.uint8)) "
                        f"or float 0..1")


def to_uint8(array: np.ndarray, path: Path, key: str, *, in_place: bool = False) -> np.ndarray:
    """The pixels of `array` (uint8 0..255 or float 0..1, checked) as uint8;
    applied to a whole array, or to a mapped one chunk by chunk (aekit.data.mapped_arrays).
    `in_place`: `array` is a scratch copy, and is scaled in place (no float
    temporary the size of it)."""
    check_pixel_type(array, path, key)
    if array.dtype == np.uint8:
        return array
    if array.size:
        # min and max hold any NaN (it propagates) or infinity: no mask the size of the array.
        low, high = array.min(), array.max()
        if not (np.isfinite(low) and np.isfinite(high)):
            raise DataError(f"{key} in {path} holds NaN or infinite values: save pixels as float 0..1 or uint8 0..255")
        if not (low >= 0 and high <= 1):
            raise DataError(f"{key} in {path} holds floats outside [0, 1] (min {low:g}, "
                            f"max {high:g}): scale pixels to 0..1, or save uint8 0..255")
    scaled = np.multiply(array, array.dtype.type(255), out=array if in_place else None)
    return np.rint(scaled, out=scaled).astype(np.uint8)


def _labels(array: np.ndarray, n: int, path: Path, key: str) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.shape != (n,) or array.dtype.kind not in "iubUS":
        raise DataError(f"{key} in {path} is {array.dtype} {list(array.shape)}: save {n} integer or string "
                        f"labels, one per image")
    return array
