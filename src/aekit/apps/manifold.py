"""The manifold job: images decoded over a 2-d grid of codes, n x n.

Which plane, and which stretch of it (stated here, printed by the CLI):
  - the plane: a 2-d code's own axes; for d > 2, the two leading principal
    axes of the training images' codes, the other d - 2 coordinates held at
    the codes' mean;
  - VAE (its prior is N(0, I)): the Gaussian quantiles Φ⁻¹(0.05 .. 0.95) in
    n steps, as the Keras VAE tutorial; along principal axes, in units of
    the codes' standard deviation along each axis;
  - AE and AAE (no standard prior): from the 1st to the 99th percentile of
    the training codes along each axis (the tutorial's fixed [-5, 5]² leaves
    much of the grid off the data; give it as `span=(-5, 5)` if wanted);
  - `span=(low, high)`: that interval on both axes, in the plane's coordinates.
The training codes are those of at most REFERENCE_IMAGES training images,
evenly spaced through the split (a pretrained model's: the codes shipped with it). Rows run from the highest second
coordinate at the top to the lowest; columns from low to high first coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aekit.apps.figures import spread
from aekit.apps.model import Model
from aekit.apps.training_data import require
from aekit.errors import AekitError
from aekit.io.images import make_grid, save_png
from aekit.metrics.pca import PCA

REFERENCE_IMAGES = 10_000
LOW_Q, HIGH_Q = 0.05, 0.95        # VAE: Gaussian quantiles
LOW_P, HIGH_P = 1.0, 99.0         # AE: percentiles of the codes


@dataclass(frozen=True)
class Manifold:
    images: np.ndarray       # float32 [n*n, C, H, W] in [0, 1], row by row
    codes: np.ndarray        # float32 [n*n, D]: the decoded codes
    xs: np.ndarray           # [n] first coordinate, left to right
    ys: np.ndarray           # [n] second coordinate, top to bottom
    plane: str               # "code axes" or "principal axes of the codes"
    stretch: str             # how xs and ys were chosen
    file: Path | None


def manifold_job(model: Model, out: str | Path | None = None, n: int = 20, span: tuple[float, float] | None = None,
                 reference: torch.Tensor | np.ndarray | None = None) -> Manifold:
    """`reference`: images whose codes set the plane and stretch (default: the training split)."""
    if n < 2:
        raise AekitError(f"a manifold grid needs n >= 2 steps a side, got {n}")
    if span is not None and not span[0] < span[1]:
        raise AekitError(f"span {span}: the low end must be below the high end")
    d, vae = model.code_dim, model.kind == "vae"
    if d < 2:
        raise AekitError("a manifold grid needs codes of at least 2 dimensions; this model's code has 1")
    codes = None
    if d > 2 or (not vae and span is None):
        codes = torch.from_numpy(_reference_codes(model, reference)).to(torch.float64)
    if d == 2:
        centre, axes = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
        plane, projected = "code axes", codes
    else:
        pca = PCA(2).fit(codes)
        centre, axes = pca.mean, pca.components
        plane, projected = "principal axes of the codes", pca.transform(codes)
    if span is not None:
        xs = ys = np.linspace(span[0], span[1], n)
        stretch = f"[{span[0]:g}, {span[1]:g}] on both axes"
    elif vae:
        q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(LOW_Q, HIGH_Q, n, dtype=torch.float64))
        scale = torch.ones(2, dtype=torch.float64) if d == 2 else projected.std(0)
        xs, ys = (q * scale[0]).numpy(), (q * scale[1]).numpy()
        stretch = f"Gaussian quantiles {LOW_Q}..{HIGH_Q}" + ("" if d == 2 else " times the codes' std along each axis")
    else:
        lo = np.percentile(projected.numpy(), LOW_P, axis=0)
        hi = np.percentile(projected.numpy(), HIGH_P, axis=0)
        xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
        stretch = f"percentiles {LOW_P:g}..{HIGH_P:g} of the training codes on each axis"
    ys = ys[::-1].copy()   # the top row holds the highest second coordinate
    gx, gy = np.meshgrid(xs, ys)   # row by row
    plane_points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    points = (centre + plane_points @ axes).to(torch.float32)
    images = model.decode(points.numpy())
    if out is not None:
        save_png(out, make_grid(torch.from_numpy(images), n, pad=0, scale=1))
    return Manifold(images, points.numpy(), xs, ys, plane, stretch, Path(out) if out is not None else None)


def _reference_codes(model: Model, reference) -> np.ndarray:
    if reference is None and model.training_codes is not None:   # a pretrained model's own
        return model.training_codes.numpy()
    if reference is None:
        reference = require(model.data, "a manifold grid of this model").load().train.images
    batch = model.images(reference)
    chosen = spread(len(batch), REFERENCE_IMAGES)
    return model.encode(_subset(batch, chosen))


def _subset(batch, chosen: torch.Tensor):
    from aekit.apps.inputs import Images

    return Images(batch.pixels[chosen], batch.form, None).as_form("numpy")
