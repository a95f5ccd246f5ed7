"""Class filtering of the training data: `exclude_classes` (anomaly detection:
train without class C, then score C against the rest) and `only_classes`
(the one-class setting: train on the normal class C alone).

Only train and validation are filtered. The test split is left whole, so an
evaluation of the run sees every class: the left-out one is what an anomaly
score must find. Classes are given by index (7, or "7") or by name
("Trouser"), as a list; both spellings resolve to indices here, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import torch

from aekit.data.derived import take_mapped
from aekit.data.memmap import is_mapped
from aekit.data.types import Dataset, Split
from aekit.errors import DataError


def resolve_classes(wanted: Iterable[int | str], classes: Sequence[str] | None, dataset: str,
                    option: str = "class") -> list[int]:
    """Sorted class indices of `wanted` (indices or names) in a dataset with
    these `classes`; DataError for an unknown class or an unlabelled dataset."""
    wanted = list(wanted)
    if not classes:
        raise DataError(f"{dataset} has no class labels, so {option} cannot select classes: "
                        f"use a labelled dataset (mnist, fashion-mnist, digits-sample, a folder of class folders)")
    return sorted({class_index(c, classes, dataset, option) for c in wanted})


def class_index(value: int | str, classes: Sequence[str], dataset: str, option: str = "class") -> int:
    """The index of one class, given as an index or a name (a name wins over
    a digit string, so a folder class named "3" means that folder)."""
    given = value
    if isinstance(value, str):
        names = {name: i for i, name in enumerate(classes)}
        folded = {name.casefold(): i for i, name in enumerate(classes)}
        if value in names:
            return names[value]
        if value.casefold() in folded:
            return folded[value.casefold()]
        if value.strip().lstrip("-").isdigit():
            value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(classes):
        return value
    shown = ", ".join(f"{i}={name}" for i, name in enumerate(classes)) if len(classes) <= 20 else f"0..{len(classes) - 1}"
    raise DataError(f"{option} {given}: {dataset} has no such class; give an index or name among {shown}")


def keep_classes(split: Split, keep: torch.Tensor) -> Split:
    """The images of `split` whose label is in `keep` (a 1-d tensor of indices), in order.
    A memory-mapped split stays mapped: its kept rows are copied a chunk at a
    time into a map of their own (aekit.data.derived), never into memory."""
    mask = torch.isin(split.labels, keep)
    index = mask.nonzero().squeeze(1)
    if is_mapped(split.images):
        images = take_mapped(split.images, index, "class filter")
    else:
        images = split.images.index_select(0, index).contiguous()
    return Split(images, split.labels.index_select(0, index))


def filter_classes(data: Dataset, exclude: Iterable[int | str] | None = None,
                   only: Iterable[int | str] | None = None) -> Dataset:
    """`data` with train and validation restricted to `only` or stripped of
    `exclude` (at most one of them); the test split untouched."""
    exclude = list(exclude) if exclude else []
    only = list(only) if only else []
    if not exclude and not only:
        return data
    if exclude and only:
        raise DataError("exclude_classes and only_classes were both given: use one "
                        "(--exclude-class C to leave C out, --only-class C to train on C alone)")
    option = "--exclude-class" if exclude else "--only-class"
    chosen = resolve_classes(exclude or only, data.classes, data.name, option)
    if exclude:
        kept = [i for i in range(len(data.classes)) if i not in chosen]
        if not kept:
            raise DataError(f"{option} leaves out every class of {data.name}: keep at least one")
    else:
        kept = chosen
    keep = torch.tensor(kept, dtype=torch.int64)
    train, val = keep_classes(data.train, keep), keep_classes(data.val, keep)
    if len(train) == 0:
        raise DataError(f"{option}: no training images of {data.name} are left: choose other classes")
    return replace(data, train=train, val=val)
