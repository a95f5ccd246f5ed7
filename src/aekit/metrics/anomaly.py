"""Anomaly detection by reconstruction: an autoencoder reconstructs what it
was trained on better than what it was not, so a high reconstruction error
(or, for a VAE, a high negative log-likelihood) flags an anomaly.

Two settings, stated by which argument is given, and recorded in the report:

- `anomaly_class=C`: the model was trained without class C (`aekit train
  --exclude-class C`); on the test split C is anomalous, every other class
  normal.
- `normal_class=C`: the one-class setting (`aekit train --only-class C`);
  C is normal, every other class anomalous.

Scores are "higher = more anomalous". The figure is the ROC-AUC of the
score for "anomalous" against "normal": the probability that a random
anomalous image scores above a random normal one (ties count one half),
0.5 for a useless score, 1 for a perfect one."""

from __future__ import annotations

import torch

from aekit.data.classes import class_index
from aekit.data.memmap import release_pages
from aekit.data.types import Split
from aekit.errors import AekitError
from aekit.metrics.budget import images_within
from aekit.metrics.reconstruction import reconstruct
from aekit.models.autoencoder import Autoencoder

BATCH_BYTES = 16 << 20   # float64 pixels per batch of reconstruction_scores (2,674 28x28 images, 170 of 3x64x64)


def reconstruction_scores(model: Autoencoder, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Per-image sum of squared errors on [0, 1] pixels, float64 [N], for uint8
    `images` [N, C, H, W] (eval mode: no corruption, no dropout). A batch at a
    time, of at most BATCH_BYTES of float64 pixels: a split larger than
    memory (a memory map) is never copied whole."""
    if len(images) == 0:
        return torch.zeros(0, dtype=torch.float64)
    step = min(batch_size, images_within(BATCH_BYTES, images))
    scores = []
    for i in range(0, len(images), step):
        batch = images[i:i + step]
        x = batch.to(torch.float64) / 255.0 if batch.dtype == torch.uint8 else batch.to(torch.float64)
        scores.append(((reconstruct(model, batch, step).to(torch.float64) - x) ** 2).flatten(1).sum(1))
        release_pages(images)   # a memory-mapped split: only a batch's pages resident
    return torch.cat(scores)


def roc_auc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """Area under the ROC curve of `scores` [N] for the boolean labels
    `positive` [N], by the Mann-Whitney statistic with average ranks for ties
    (equal to the trapezoidal area under the curve, as scikit-learn's
    roc_auc_score computes it)."""
    scores = scores.detach().to(torch.float64).flatten().cpu()
    positive = positive.flatten().cpu().to(torch.bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if len(scores) != len(positive):
        raise ValueError(f"roc_auc: {len(scores)} scores for {len(positive)} labels")
    if n_pos == 0 or n_neg == 0:
        raise AekitError(f"ROC-AUC needs both anomalous and normal images, got {n_pos} anomalous and {n_neg} normal: "
                         "choose a class that the split holds, and not the only one")
    return float((average_ranks(scores)[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks of `values` [N], tied values sharing the mean of their ranks."""
    sorted_values, order = values.sort(stable=True)
    n = len(values)
    # Runs of equal values: a run spanning sorted positions i..j gets rank (i + j) / 2 + 1.
    starts = torch.ones(n, dtype=torch.bool)
    starts[1:] = sorted_values[1:] != sorted_values[:-1]
    run = starts.cumsum(0) - 1                                    # run id of each sorted position
    first = starts.nonzero().squeeze(1)
    last = torch.cat([first[1:] - 1, torch.tensor([n - 1])])
    mean_rank = (first + last).to(torch.float64) / 2 + 1
    ranks = torch.empty(n, dtype=torch.float64)
    ranks[order] = mean_rank[run]
    return ranks


def anomalous_mask(labels: torch.Tensor, anomaly: int | None, normal: int | None) -> torch.Tensor:
    return labels == anomaly if anomaly is not None else labels != normal


def anomaly_report(model: Autoencoder, split: Split, anomaly_class: int | str | None = None, *,
                   normal_class: int | str | None = None, classes: tuple[str, ...] | None = None,
                   nll_samples: int | None = None, seed: int = 0, batch_size: int = 1000) -> dict:
    """ROC-AUC of the reconstruction-error score (and of the importance-sampled
    NLL with `nll_samples` samples, for a VAE) on a labelled `split`.

    Give exactly one of `anomaly_class` (that class anomalous, the rest
    normal) or `normal_class` (that class normal, the rest anomalous; the
    one-class setting). A class is an index, or a name when `classes` (the
    dataset's class names) is given. `nll_samples` on a model without a
    likelihood to estimate (a deterministic code, plain squared error) raises
    AekitError: leave it None for such models."""
    if (anomaly_class is None) == (normal_class is None):
        raise AekitError("anomaly report: give exactly one of anomaly_class (that class is the anomaly; "
                         "model trained with --exclude-class) or normal_class (one-class; --only-class)")
    if split.labels is None:
        raise AekitError("anomaly detection by class needs class labels, and this split has none: "
                         "use a labelled dataset (mnist, fashion-mnist, digits-sample, a folder of class folders)")
    names = tuple(classes) if classes else tuple(str(i) for i in range(int(split.labels.max()) + 1))
    option = "anomaly_class" if anomaly_class is not None else "normal_class"
    chosen = class_index(anomaly_class if anomaly_class is not None else normal_class, names, "the dataset", option)
    anomaly = chosen if anomaly_class is not None else None
    normal = chosen if normal_class is not None else None
    positive = anomalous_mask(split.labels, anomaly, normal)
    scores = reconstruction_scores(model, split.images, batch_size)
    report = {
        "anomaly_class": anomaly, "normal_class": normal,
        "anomalous": f"class {anomaly}" if anomaly is not None else f"every class but {normal}",
        "images": len(split), "anomalous_images": int(positive.sum()), "normal_images": int((~positive).sum()),
        "seed": seed,
        "reconstruction": _section(scores, positive),
    }
    if nll_samples is not None:
        from aekit.metrics.nll import importance_sampled_nll

        nll = importance_sampled_nll(model, split.images, nll_samples, seed=seed)
        report["nll"] = {"samples": int(nll_samples), **_section(nll, positive)}
    return report


def _section(scores: torch.Tensor, positive: torch.Tensor) -> dict:
    scores = scores.to(torch.float64)
    return {"roc_auc": roc_auc(scores, positive),
            "mean_score_anomalous": float(scores[positive].mean()),
            "mean_score_normal": float(scores[~positive].mean())}
