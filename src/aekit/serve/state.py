"""What the explorer serves, computed once when it starts.

From the model and a dataset (by default the one the model was trained on):
  - the codes of up to MAX_TRAIN_CODES training images, which fix the slider
    axes: each code dimension for codes of 1 or 2 dimensions; for more, the
    MAX_SLIDERS leading principal axes of those codes (the other directions
    held at their mean). Every code the UI shows is `origin + t @ directions`
    with one slider per entry of t, ranging over the training codes' t;
  - the codes, labels and anomaly scores of up to MAX_POINTS test images: the
    latent map (the first two entries of t) and the nearest-neighbour index
    (brute force, one matmul: 10k points take well under a millisecond).
A code sent back for decoding must lie within CODE_RADIUS_FACTOR times the
distance from the training codes' mean to the farthest training code: the
sliders (at most 8 orthonormal axes, each within that distance) and the map
(the test codes, a little beyond) stay inside it; a code far outside it is
not a question the model can answer, and is refused.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import torch
from PIL import Image

from aekit.apps.figures import spread
from aekit.apps.model import Model
from aekit.apps.training_data import own_dataset
from aekit.cpu import flushing_denormals
from aekit.data import Dataset, load_dataset
from aekit.errors import AekitError
from aekit.io.images import make_grid
from aekit.metrics.pca import PCA

MAX_POINTS = 10_000
MAX_TRAIN_CODES = 10_000
MAX_SLIDERS = 8
CODE_RADIUS_FACTOR = 3.0


@dataclass(frozen=True)
class Axes:
    """code = origin + t @ directions; t[k] ranges over [low[k], high[k]]."""
    kind: str                    # "code" (each code dimension) or "pca"
    origin: torch.Tensor         # [D] float32
    directions: torch.Tensor     # [K, D] float32, orthonormal rows
    low: torch.Tensor            # [K]
    high: torch.Tensor           # [K]

    @classmethod
    def fit(cls, codes: torch.Tensor) -> "Axes":
        d = codes.shape[1]
        if d <= 2:
            origin, directions, kind = torch.zeros(d), torch.eye(d), "code"
        else:
            pca = PCA(min(MAX_SLIDERS, d)).fit(codes)
            origin, directions, kind = pca.mean.float(), pca.components.float(), "pca"
        t = (codes - origin) @ directions.T
        return cls(kind, origin, directions, t.amin(0), t.amax(0))

    def project(self, codes: torch.Tensor) -> torch.Tensor:
        return (codes - self.origin) @ self.directions.T


def dataset_for(model: Model, data: str | None) -> tuple[Dataset, str | None]:
    """(`data` (a dataset name or path), or else the data the model was trained on; a note
    when that could not be had: apps.training_data.own_dataset, digits-sample for a 28x28
    grey model whose data is not on disk)."""
    note = None
    if data is not None:
        dataset = load_dataset(data)
    else:
        dataset, note = own_dataset(model)
        note = note and f"exploring with {note}"
    if tuple(dataset.image_shape) != tuple(model.input_shape):
        raise AekitError(f"{dataset.name} has images of shape {list(dataset.image_shape)} but the model takes "
                         f"{list(model.input_shape)}: give --data a dataset of the model's image shape")
    return dataset, note


def png(images: torch.Tensor, ncols: int = 1) -> bytes:
    """Images [N, C, H, W] in [0, 1] as one PNG, `ncols` to a row, 1-pixel white gaps, unscaled
    (the page enlarges them with CSS, pixelated)."""
    array = make_grid(images, ncols, pad=1 if len(images) > 1 else 0, scale=1)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class Explorer:
    """A model, the codes of some of its data, and the questions the explorer's pages ask of them."""

    def __init__(self, model: Model, dataset: Dataset, note: str | None = None):
        self.model = model
        self.dataset_name = dataset.name
        self.note = note
        self.classes = list(dataset.classes) if dataset.classes else None
        test = dataset.test if len(dataset.test) else dataset.val
        train = dataset.train.images[spread(len(dataset.train), MAX_TRAIN_CODES)]
        chosen = spread(len(test), MAX_POINTS)
        self.images = test.images[chosen].contiguous()            # uint8 [N, C, H, W]
        self.labels = test.labels[chosen] if test.labels is not None else None
        # A pretrained model ships its training codes (Model.training_codes): no need to encode them.
        shipped = getattr(model, "training_codes", None)
        train_codes = shipped.float() if shipped is not None else model.encode(train)
        self.codes = model.encode(self.images)                    # float32 [N, D]
        self.scores = model.anomaly_score(self.images)            # float64 [N]
        self.axes = Axes.fit(train_codes)
        self.coords = self.axes.project(self.codes)[:, :2]
        self.center = train_codes.mean(0)
        self.radius = CODE_RADIUS_FACTOR * float((train_codes - self.center).norm(dim=1).max())
        self._norms = self.codes.pow(2).sum(1)

    @property
    def code_dim(self) -> int:
        return self.model.code_dim

    def __len__(self) -> int:
        return len(self.codes)

    def check_code(self, code: list[float]) -> torch.Tensor:
        """`code` as a tensor [D], or AekitError saying what is wrong with it."""
        if len(code) != self.code_dim:
            raise AekitError(f"a code of {len(code)} values; this model's codes have {self.code_dim}")
        z = torch.tensor(code, dtype=torch.float32)
        distance = float((z - self.center).norm())
        if not math.isfinite(distance) or distance > self.radius:
            raise AekitError(f"the code lies {distance:.4g} from the training codes' mean; the limit is "
                             f"{self.radius:.4g} ({CODE_RADIUS_FACTOR:g}x the farthest training code)")
        return z

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] in [0, 1] from checked codes [N, D] (at most MAX_STEPS of them).

        The network straight, not through Model.decode: the Model keeps it in eval mode
        for good, and Model's per-call switch to eval and back walks every module twice,
        which cost a decode request more than the decoding itself (profiled)."""
        ae = self.model.autoencoder
        with torch.inference_mode(), flushing_denormals():
            return ae.to_unit(ae.decode(codes.to(self.model.device))).cpu()

    def neighbours(self, code: torch.Tensor, k: int, exclude: int | None = None) -> list[dict]:
        """The `k` test images whose codes are nearest `code` (Euclidean), nearest first."""
        d2 = (self._norms - 2 * (self.codes @ code) + code.pow(2).sum()).clamp_min(0)
        if exclude is not None:
            d2[exclude] = math.inf
        k = min(k, len(self) - (exclude is not None))
        distances, indices = torch.topk(d2, k, largest=False)
        return [self.point_summary(int(i), float(d) ** 0.5) for i, d in zip(indices, distances)]

    def point_summary(self, index: int, distance: float | None = None) -> dict:
        out = {"index": index, "label": self.label(index)}
        if distance is not None:
            out["distance"] = round(distance, 6)
        return out

    def label(self, index: int) -> str | None:
        if self.labels is None:
            return None
        label = int(self.labels[index])
        return self.classes[label] if self.classes and label < len(self.classes) else str(label)

    def score_rank(self, score: float) -> float:
        """The share of the test images whose anomaly score is below `score`."""
        return float((self.scores < score).double().mean())
