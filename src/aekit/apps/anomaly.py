"""The anomaly job: a score per image and a flag where it passes a threshold.

The score is the reconstruction error Σ over pixels of (x - x̂)² on [0, 1]
pixels (`Model.anomaly_score`): images unlike the training data reconstruct
worse. The threshold is a number, or "auto": the AUTO_QUANTILE (0.99)
quantile of the scores of the model's own training images (all of the run's
training split; a pretrained model's: those of the training images shipped
with it), so that about 1% of images like the training data are flagged. A score strictly above the threshold is flagged.

Writes `out` (a CSV): index, name, score, threshold, anomalous (0 or 1), and
beside it the same name as .png: a histogram of the scores with the
threshold (and, for "auto", the training images' scores that set it), then
the `n_show` highest-scoring images above their reconstructions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.apps.figures import save_anomaly_figure
from aekit.apps.model import Model
from aekit.apps.results import names_or_indices, save_csv
from aekit.apps.training_data import require
from aekit.errors import AekitError

AUTO_QUANTILE = 0.99


@dataclass(frozen=True)
class Anomalies:
    scores: np.ndarray        # float64 [N]
    threshold: float
    flagged: np.ndarray       # bool [N]
    threshold_source: str     # how the threshold was chosen
    file: Path | None         # the CSV
    figure: Path | None = None


def parse_threshold(value: str | float) -> str | float:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AekitError(f"threshold {value!r}: give auto or a number (a squared error per image)") from None
    if not np.isfinite(number) or number < 0:
        raise AekitError(f"threshold {value!r}: give auto or a non-negative finite number")
    return number


def auto_threshold(model: Model, reference: Any = None, quantile: float = AUTO_QUANTILE) -> tuple[float, str]:
    """The `quantile` of the scores of `reference` images (default: the training split)."""
    value, how, _ = _reference_threshold(model, reference, quantile)
    return value, how


def _reference_threshold(model: Model, reference: Any, quantile: float) -> tuple[float, str, np.ndarray]:
    """auto_threshold's (value, how), and the reference scores it was taken from."""
    if reference is None and model.training_scores is not None:   # shipped with a pretrained model
        scores = model.training_scores.numpy()
        how = (f"the {quantile:g} quantile of the scores of {len(scores)} training images shipped with "
               f"pretrained:{model.pretrained}")
        return float(np.quantile(scores, quantile)), how, scores
    if reference is None:
        source = require(model.data, "--threshold auto")
        reference, what = source.load().train.images, f"the training split of {source.describe()}"
    else:
        what = "the given reference images"
    scores = model.anomaly_score(model.images(reference).as_form("numpy"))
    how = f"the {quantile:g} quantile of the scores of {len(scores)} images, {what}"
    return float(np.quantile(scores, quantile)), how, scores


def anomaly_job(model: Model, images: Any, out: str | Path | None = None, threshold: str | float = "auto",
                reference: Any = None, n_show: int = 10, what: str = "the images") -> Anomalies:
    threshold = parse_threshold(threshold)
    batch = model.images(images)
    reference_scores = None
    if threshold == "auto":
        value, source, reference_scores = _reference_threshold(model, reference, AUTO_QUANTILE)
    else:
        value, source = float(threshold), "given"
    scores = model.anomaly_score(batch.as_form("numpy"))   # scores only: the inputs may be larger than memory
    flagged = scores > value
    if out is None:
        return Anomalies(scores, value, flagged, source, None)
    out = Path(out)
    names = names_or_indices(batch.names, len(batch))
    save_csv(out, ["index", "name", "score", "threshold", "anomalous"],
             ((i, names[i], f"{s:.6f}", f"{value:.6f}", int(f)) for i, (s, f) in enumerate(zip(scores, flagged))))
    worst = torch.from_numpy(np.argsort(-scores, kind="stable")[:n_show].copy())
    shown = batch.unit(worst)
    figure = out.with_suffix(".png")
    save_anomaly_figure(scores, value, reference_scores, shown, model.reconstruct(shown),
                        scores[worst.numpy()], figure, what)
    return Anomalies(scores, value, flagged, source, out, figure)
