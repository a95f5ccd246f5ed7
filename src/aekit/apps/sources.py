"""What the command line's INPUTS name, read into something `Model` takes.

INPUTS is one of:
  - an image file, or a folder of image files (read by the Model itself, in
    sorted order, converted to the model's channels);
  - a .npy file of images ([N, H, W], [N, C, H, W] or [N, H, W, C]);
  - a .npz file: the Keras layout (x_train, y_train, x_test, y_test; `split`
    picks train or test) or `images` (+ `labels`);
  - a dataset name (see `aekit datasets`) or any path `aekit train --data`
    takes, with `split` train, val or test (default test). The model's own
    dataset is split as its run was (same validation fraction and seed), so
    `--split val` gives its validation images.
A single image for interpolation is an image file, or `NAME:INDEX`: image
INDEX of a dataset's `split`, where NAME `dataset` means the model's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aekit.apps.inputs import IMAGE_SUFFIXES
from aekit.apps.model import Model
from aekit.apps.training_data import own_dataset
from aekit.errors import AekitError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Inputs:
    images: Any                          # a path, or uint8 images [N, C, H, W]
    labels: Any = None                   # int64 [N] or None
    classes: tuple[str, ...] | None = None
    description: str = ""


def read_inputs(model: Model, spec: str, split: str = "test", labelled: bool = False) -> Inputs:
    """`labelled`: read a folder with its class subfolders as labels (all its
    images, or its train/ or test/ part), as a latent map wants them."""
    if split not in SPLITS:
        raise AekitError(f"split {split!r} is unknown: use one of {', '.join(SPLITS)}")
    path = Path(spec)
    if path.is_file() and path.suffix.lower() == ".npz":
        return _npz(path, split)
    if path.is_file() and (path.suffix.lower() == ".npy" or path.suffix.lower() in IMAGE_SUFFIXES):
        return Inputs(path, description=str(path))
    if path.is_dir() and labelled:
        return _labelled_folder(model, path, split)
    if path.is_dir() and not _is_dataset_folder(path):
        return Inputs(path, description=f"the images in {path}")
    if path.is_file():
        raise AekitError(f"{path}: INPUTS must be image files ({' '.join(IMAGE_SUFFIXES)}), a folder, a .npy or "
                         f".npz file, or a dataset name")
    return _dataset(model, spec, split)


def read_one(model: Model, spec: str, split: str = "test") -> Any:
    """One image: an image file, or NAME:INDEX (`dataset:INDEX` is the model's own data)."""
    match = re.fullmatch(r"(.+):(-?\d+)", spec)
    if Path(spec).is_file() or match is None:
        if not Path(spec).is_file():
            raise AekitError(f"{spec!r}: give an image file, or NAME:INDEX for image INDEX of a dataset's "
                             f"--split (dataset:INDEX is the model's own data)")
        return Path(spec)
    name, index = match.group(1), int(match.group(2))
    if name == "dataset":
        source = model.data
        if source is None:
            raise AekitError("dataset:INDEX needs a model that names its training data: use NAME:INDEX instead")
        name = source.name
    inputs = _dataset(model, name, split)
    images = inputs.images
    if not -len(images) <= index < len(images):
        raise AekitError(f"{spec}: index {index} is outside the {len(images)} images of {inputs.description}")
    return images[index]


def own_inputs(model: Model, split: str = "test") -> tuple[Inputs, str | None]:
    """The `split` of the model's own data when the user names none (training_data.own_dataset:
    never downloaded; digits-sample for a 28x28 grey model without its data, with a note)."""
    if split not in SPLITS:
        raise AekitError(f"split {split!r} is unknown: use one of {', '.join(SPLITS)}")
    data, note = own_dataset(model)
    return _split(data, data.name, split), note


def _dataset(model: Model, name: str, split: str) -> Inputs:
    from aekit.data import load_dataset

    own = model.data
    if own is not None and own.name == name:
        data = own.load()   # split as the run was: its val images are its val images
    else:
        data = load_dataset(name)
    return _split(data, name, split)


def _split(data, name: str, split: str) -> Inputs:
    part = getattr(data, split)
    if len(part) == 0:
        raise AekitError(f"the {split} split of {name} is empty: choose another --split")
    return Inputs(part.images, part.labels, data.classes, f"the {split} split of {name}")


def _npz(path: Path, split: str) -> Inputs:
    from aekit.data.arrays import read_npz

    parts, classes = read_npz(path)
    if "all" in parts:
        part = parts["all"]
        return Inputs(part.images, part.labels, classes, str(path))
    if split not in parts:
        raise AekitError(f"{path} holds the splits {', '.join(parts)}: use --split train or --split test")
    part = parts[split]
    return Inputs(part.images, part.labels, classes, f"the {split} split of {path}")


def _labelled_folder(model: Model, path: Path, split: str) -> Inputs:
    from aekit.data.folder import read_image_folder

    parts, classes = read_image_folder(path, None, model.input_shape[0])
    if "all" in parts:
        part, what = parts["all"], f"the images in {path}"
    elif split in parts:
        part, what = parts[split], f"the images in {path / split}"
    else:
        raise AekitError(f"{path} holds train/ and test/ images: use --split train or --split test")
    return Inputs(part.images, part.labels, classes, what)


def _is_dataset_folder(path: Path) -> bool:
    """A folder with train/ and test/ subfolders is a dataset with its own splits."""
    return (path / "train").is_dir() and (path / "test").is_dir()
