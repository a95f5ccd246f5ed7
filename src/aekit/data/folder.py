"""A folder of image files (PNG, JPEG, BMP, GIF) read with Pillow.

Files are found recursively (hidden files and folders skipped) and sorted, so
the order is the same on every machine. If every image sits inside an
immediate subfolder, the sorted subfolder names are the class names and give
the labels (the torchvision ImageFolder convention). If the folder holds
`train/` and `test/` subfolders, those are the two splits.

Two passes: headers first (cheap: Pillow reads no pixels) to agree on one mode
and size for all images, then each image is decoded, converted and resized.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from aekit.data.types import Split
from aekit.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
GREY_MODES = {"1", "L", "LA"}   # with channels=None, all images grey -> 1 channel, else 3


@dataclass(frozen=True)
class FolderPlan:
    """What reading a folder will give, known from the file headers alone."""

    files: dict[str, list[Path]]                 # {"train": .., "test": ..} or {"all": ..}
    labels: dict[str, torch.Tensor | None]       # int64 per part, or None without class subfolders
    classes: tuple[str, ...] | None
    mode: str                                    # Pillow mode: "L" or "RGB"
    size: tuple[int, int]                        # (height, width)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1 if self.mode == "L" else 3, *self.size)


def read_image_folder(root: Path, size: tuple[int, int] | None, channels: int | None
                      ) -> tuple[dict[str, Split], tuple[str, ...] | None]:
    """({"train": .., "test": ..} or {"all": ..}, class names or None)."""
    return decode_plan(plan_folder(root, size, channels))


def decode_plan(plan: FolderPlan) -> tuple[dict[str, Split], tuple[str, ...] | None]:
    """`read_image_folder`'s result for a folder already planned."""
    splits = {name: Split(_decode_all(found, plan.mode, plan.size), plan.labels[name])
              for name, found in plan.files.items()}
    return splits, plan.classes


def plan_folder(root: Path, size: tuple[int, int] | None, channels: int | None) -> FolderPlan:
    """The folder's image files, labels, and the mode and size they are all read at."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        parts = {"train": root / "train", "test": root / "test"}
    else:
        parts = {"all": root}
    files = {name: _scan(folder) for name, folder in parts.items()}
    for name, found in files.items():
        if not found:
            raise DataError(f"no images found in {parts[name]} (looked for {' '.join(EXTENSIONS)}): "
                            f"point --data at a folder of images")
    class_of = {name: _class_names(parts[name], found) for name, found in files.items()}
    labelled = [names is not None for names in class_of.values()]
    if any(labelled) and not all(labelled):
        raise DataError(f"{root}/train and {root}/test differ in layout (one has class subfolders, the other "
                        f"not): put the images of both in class subfolders, or of neither")
    classes = tuple(sorted(set().union(*class_of.values()))) if all(labelled) else None

    everything = [path for found in files.values() for path in found]
    mode, target = _agree(everything, size, channels)
    labels = {}
    for name in files:
        labels[name] = None
        if classes is not None:
            index = {c: i for i, c in enumerate(classes)}
            labels[name] = torch.tensor([index[c] for c in class_of[name]], dtype=torch.int64)
    return FolderPlan(files, labels, classes, mode, target)


def _scan(folder: Path) -> list[Path]:
    found = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(here, n) for n in names if not n.startswith(".") and n.lower().endswith(EXTENSIONS)]
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _class_names(folder: Path, files: list[Path]) -> list[str] | None:
    """Each file's immediate subfolder, or None if any image lies directly in `folder`."""
    parts = [path.relative_to(folder).parts for path in files]
    if any(len(p) < 2 for p in parts):
        return None
    return [p[0] for p in parts]


def _agree(files: list[Path], size: tuple[int, int] | None, channels: int | None) -> tuple[str, tuple[int, int]]:
    """The Pillow mode and (height, width) every image is converted to."""
    all_grey, sizes = True, {}
    for path in files:
        with _open(path) as im:
            all_grey = all_grey and _is_grey(im)
            sizes.setdefault((im.height, im.width), path)
    if channels is None:
        channels = 1 if all_grey else 3
    if size is None:
        if len(sizes) > 1:
            (a, first), (b, second) = list(sizes.items())[:2]
            raise DataError(f"images differ in size ({a[0]}x{a[1]} for {first}, {b[0]}x{b[1]} for {second}): "
                            f"pass image_size (--image-size) to resize them all to one size")
        size = next(iter(sizes))
    return ("L" if channels == 1 else "RGB"), size


def _is_grey(im: Image.Image) -> bool:
    """Grey by its mode, or a palette image whose colours are all greys
    (Pillow writes grey GIFs that way)."""
    if im.mode in GREY_MODES:
        return True
    palette = im.getpalette() if im.mode == "P" else None
    return bool(palette) and palette[0::3] == palette[1::3] == palette[2::3]


def _decode_all(files: list[Path], mode: str, size: tuple[int, int]) -> torch.Tensor:
    h, w = size
    out = np.empty((len(files), h, w, 1 if mode == "L" else 3), dtype=np.uint8)
    for i, path in enumerate(files):
        out[i] = decode_image(path, mode, size)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def decode_image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """One image as uint8 [H, W, C], converted to `mode` and resized to `size`."""
    h, w = size
    with _open(path) as im:
        try:
            im = im.convert(mode)
            if (im.height, im.width) != size:
                im = im.resize((w, h), Image.Resampling.LANCZOS)
            return np.asarray(im).reshape(h, w, -1)
        except Exception as e:  # noqa: BLE001 - a decoder can fail in many ways; all mean "bad file"
            raise _unreadable(path, e) from None


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except Exception as e:  # noqa: BLE001 - see _decode_all
        raise _unreadable(path, e) from None


def _unreadable(path: Path, error: Exception) -> DataError:
    reason = "not a valid image file" if isinstance(error, UnidentifiedImageError) else (str(error) or type(error).__name__)
    return DataError(f"cannot read image {path} ({reason}): replace or delete that file")
