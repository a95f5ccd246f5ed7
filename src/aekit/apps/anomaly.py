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


def auto_threshold(model: Model, reference: Any = None,
                   quantile: float = AUTO_QUANTILE) -> tuple[float, str, np.ndarray, str]:
    """The `quantile` of the scores of `reference` images (default: the training split): (the threshold,
    how it was chosen, the reference scores, what those images are)."""
    if reference is None and model.training_scores is not None:   # shipped with a pretrained model
        scores = model.training_scores.numpy()
        how = (f"the {quantile:g} quantile of the scores of {len(scores)} training images shipped with "
               f"pretrained:{model.pretrained}")
        return float(np.quantile(scores, quantile)), how, scores, "training images"
    if reference is None:
        source = require(model.data, "--threshold auto")
        reference, what, label = source.load().train.images, f"the training split of {source.describe()}", \
            "training images"
    else:
        what = label = "the given reference images"
    scores = model.anomaly_score(model.images(reference).as_form("numpy"))
    how = f"the {quantile:g} quantile of the scores of {len(scores)} images, {what}"
    return float(np.quantile(scores, quantile)), how, scores, label


def anomaly_job(model: Model, images: Any, out: str | Path | None = None, threshold: str | float = "auto",
                reference: Any = None, n_show: int = 10, what: str = "the images") -> Anomalies:
    """Score `images`; with `out` (a .csv), write the scores there and the picture beside it (.png).
    `reference`: the images whose scores set an "auto" threshold (default: the training split);
    `n_show`: the highest-scoring images pictured; `what`: the images' name in the picture."""
    threshold = parse_threshold(threshold)
    if out is not None and Path(out).suffix.lower() != ".csv":
        raise AekitError(f"out {out}: the anomaly job writes a .csv file (and its picture beside it as .png); "
                         f"give a name such as scores.csv")
    if isinstance(n_show, bool) or not isinstance(n_show, (int, np.integer)) or n_show < 1:
        raise AekitError(f"n_show {n_show!r}: give the number of images to picture, 1 or more")
    batch = model.images(images)
    reference_scores, reference_label = None, ""
    if threshold == "auto":
        value, source, reference_scores, reference_label = auto_threshold(model, reference)
    else:
        value, source = float(threshold), "given"
    scores = model.anomaly_score(batch.as_form("numpy"))   # scores only: the inputs may be larger than memory
    flagged = scores > value
    if out is None:
        return Anomalies(scores, value, flagged, source, None)
    out = Path(out)
    worst = np.argsort(-scores, kind="stable")[:n_show]
    shown = batch.unit(torch.from_numpy(worst.copy()))   # only the pictured images are read and reconstructed
    shown_recon = model.reconstruct(shown)
    names = names_or_indices(batch.names, len(batch))
    save_csv(out, ["index", "name", "score", "threshold", "anomalous"],
             ((i, names[i], f"{s:.6f}", f"{value:.6f}", int(f)) for i, (s, f) in enumerate(zip(scores, flagged))))
    figure = out.with_suffix(".png")
    save_anomaly_figure(scores, value, shown, shown_recon, scores[worst], figure, what,
                        reference_scores, reference_label)
    return Anomalies(scores, value, flagged, source, out, figure)
