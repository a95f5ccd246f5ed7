"""The sections that need class labels: code quality (probes on the codes)
and anomaly detection (one class against the rest). Both come from
aekit.metrics (probes.py and anomaly.py); this module decides when they
apply and what they are given.

They need every image at once (a kNN looks at all training codes), so
under torchrun rank 0 computes them alone on the whole split and
broadcasts the record (aekit.evaluation.shards.broadcast_record).
"""

from __future__ import annotations

from aekit.data import Dataset, Split
from aekit.errors import AekitError
from aekit.metrics.probes import code_quality as probes
from aekit.models.autoencoder import Autoencoder


def has_labels(*splits: Split) -> bool:
    return all(s.labels is not None and len(s) > 0 for s in splits)


def code_quality(model: Autoencoder, dataset: Dataset, split: Split, seed: int) -> dict | None:
    """kNN and linear-probe accuracy of the model's codes (train split → the
    evaluated split), beside PCA codes of the same size and raw pixels;
    None without labels."""
    if not has_labels(dataset.train, split):
        return None

    return probes(model, dataset.train, split, seed=seed)


def check_anomaly_class(dataset: Dataset, split: Split, anomaly_class: int | None) -> None:
    """Fail before any work when the anomaly class cannot be scored."""
    if anomaly_class is None:
        return
    if not has_labels(split):
        raise AekitError(f"--anomaly-class needs class labels, and {dataset.name} has none: use a labelled dataset")
    n_classes = len(dataset.classes) if dataset.classes else int(split.labels.max()) + 1
    if not 0 <= anomaly_class < n_classes:
        raise AekitError(f"anomaly class {anomaly_class} does not exist in {dataset.name}: "
                         f"use 0 to {n_classes - 1}")


def anomaly(model: Autoencoder, split: Split, anomaly_class: int, nll_samples: int, seed: int) -> dict:
    """ROC-AUC of the reconstruction-error score (and of the NLL for a VAE,
    with the same k as the VAE section) for class `anomaly_class` against the rest."""
    from aekit.metrics.anomaly import anomaly_report   # branch `probes`

    return anomaly_report(model, split, anomaly_class, nll_samples=nll_samples or None, seed=seed)
