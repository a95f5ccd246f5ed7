"""The latent-map job: images' codes as points in the plane, coloured by label.

2-d codes are drawn as they are. Higher dimensions are projected:
  pca   the two leading principal axes of the codes (aekit.metrics.PCA, float64)
  tsne  scikit-learn's t-SNE (PCA initialisation, perplexity 30, `seed`), on
        at most TSNE_MAX_POINTS images evenly spaced through the inputs: its
        cost grows faster than the number of points
  umap  umap-learn's UMAP (15 neighbours, `seed`), on as many images, when
        that package is installed (it is not a dependency of aekit)
Writes the picture and, beside it, a CSV (same name, .csv) of the points
drawn: index, label, x, y.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from aekit.apps.figures import save_scatter, spread
from aekit.apps.model import Model
from aekit.apps.results import save_csv
from aekit.errors import AekitError
from aekit.metrics.pca import PCA

METHODS = ("pca", "tsne", "umap")
TSNE_MAX_POINTS = 3000


@dataclass(frozen=True)
class LatentMap:
    coords: np.ndarray           # float64 [n, 2]: the points drawn
    indices: np.ndarray          # [n]: which input image each point is
    codes: np.ndarray            # float32 [N, D]: every input's code
    labels: np.ndarray | None    # [n]
    method: str                  # "codes" (2-d as is), "pca" or "tsne"
    file: Path | None


def project(codes: np.ndarray, method: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """(coords [n, 2], the indices of `codes` they are, the method used)."""
    if method not in METHODS:
        raise AekitError(f"latent map method {method!r} is unknown: use one of {', '.join(METHODS)}")
    everything = np.arange(len(codes))
    if codes.shape[1] == 2:
        return codes.astype(np.float64), everything, "codes"
    if codes.shape[1] == 1:
        raise AekitError("a latent map needs codes of at least 2 dimensions; this model's code has 1")
    if method == "pca":
        return PCA(2).fit(torch.from_numpy(codes)).transform(torch.from_numpy(codes)).numpy(), everything, "pca"
    chosen = spread(len(codes), TSNE_MAX_POINTS).numpy()
    if len(chosen) < 5:
        raise AekitError(f"{method} needs at least 5 images, got {len(chosen)}: use --method pca")
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise AekitError("--method umap needs the umap-learn package (pip install umap-learn); "
                             "or use --method tsne or pca") from None
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(chosen) - 1), random_state=seed)
        return reducer.fit_transform(codes[chosen].astype(np.float64)), chosen, "umap"
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(chosen) - 1) / 3)
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
    return tsne.fit_transform(codes[chosen].astype(np.float64)), chosen, "tsne"


def latent_map_job(model: Model, images: Any, labels: Sequence[int] | None = None,
                   classes: Sequence[str] | None = None, out: str | Path | None = None, method: str = "pca",
                   seed: int = 0, title: str = "") -> LatentMap:
    batch = model.images(images)
    if labels is not None and len(labels) != len(batch):
        raise AekitError(f"latent map: {len(labels)} labels for {len(batch)} images; give one label per image")
    codes = model.encode(batch.as_form("numpy"))
    coords, indices, used = project(codes, method, seed)
    chosen = np.asarray(labels)[indices] if labels is not None else None
    if out is not None:
        out = Path(out)
        axes = {"codes": ("z[0]", "z[1]"), "pca": ("PC 1 of the codes", "PC 2 of the codes"),
                "tsne": ("t-SNE 1", "t-SNE 2"), "umap": ("UMAP 1", "UMAP 2")}[used]
        title = title or f"{len(indices)} codes ({model.code_dim}-d{'' if used == 'codes' else ', ' + used})"
        save_scatter(coords, chosen, list(classes) if classes is not None else None, out, title, axes)
        save_csv(out.with_suffix(".csv"), ["index", "label", "x", "y"],
                 ((int(i), "" if chosen is None else int(chosen[k]), repr(float(coords[k, 0])),
                   repr(float(coords[k, 1]))) for k, i in enumerate(indices)))
    return LatentMap(coords, indices, codes, chosen, used, out)
