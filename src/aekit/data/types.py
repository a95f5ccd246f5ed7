"""The two containers every consumer of the data layer sees.

A dataset lives as whole tensors in memory (batches are index slices, no
per-sample Python), with pixels always stored as uint8 0..255 so that every
model converts every dataset the same way: `x.float() / 255`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Split:
    """One split: images uint8 [N, C, H, W] (contiguous, CPU), labels int64 [N] or None.

    The images may be a read-only memory map (aekit.data.memmap): never write
    into a split's images in place (a map's write is a segmentation fault);
    `.clone()` them first."""

    images: torch.Tensor
    labels: torch.Tensor | None = None

    def __post_init__(self):
        # Cheap invariants, checked once at construction so that a bug in a
        # loader fails here and not deep inside a training loop.
        x, y = self.images, self.labels
        if x.dtype != torch.uint8 or x.dim() != 4 or x.device.type != "cpu" or not x.is_contiguous():
            raise ValueError(f"Split.images must be a contiguous CPU uint8 [N, C, H, W] tensor, "
                             f"got {x.dtype} {tuple(x.shape)} on {x.device}")
        if y is not None and (y.dtype != torch.int64 or y.shape != (x.shape[0],)):
            raise ValueError(f"Split.labels must be int64 [{x.shape[0]}], got {y.dtype} {tuple(y.shape)}")

    def __len__(self) -> int:
        return self.images.shape[0]

    def __repr__(self) -> str:
        labelled = "labelled" if self.labels is not None else "unlabelled"
        return f"Split({len(self)} images of shape {tuple(self.images.shape[1:])}, {labelled})"


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test splits of one image source."""

    name: str
    train: Split
    val: Split
    test: Split
    classes: tuple[str, ...] | None = None
    binary: bool = False

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        c, h, w = self.train.images.shape[1:]
        return (int(c), int(h), int(w))

    def __repr__(self) -> str:
        sizes = f"train={len(self.train)}, val={len(self.val)}, test={len(self.test)}"
        classes = f", {len(self.classes)} classes" if self.classes else ""
        return f"Dataset({self.name!r}, {sizes}, image_shape={self.image_shape}{classes})"
