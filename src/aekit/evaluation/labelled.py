"""The sections that need class labels: code quality (probes on the codes)
and anomaly detection (one class against the rest). Both come from
aekit.metrics (probes.py and anomaly.py); this module decides when they
apply and what they are given.

They need every image at once (a kNN looks at all training codes), so
under torchrun rank 0 computes them alone on the whole split and
broadcasts the record (aekit.evaluation.shards.broadcast_record).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aekit.data import Dataset, Split
from aekit.data.classes import class_index
from aekit.data.memmap import is_mapped
from aekit.errors import AekitError
from aekit.metrics.anomaly import anomaly_report, roc_auc
from aekit.metrics.budget import images_within
from aekit.metrics.pca import PCA
from aekit.metrics.probes import MAX_TRAIN, K
from aekit.metrics.probes import code_quality as probes
from aekit.models.autoencoder import Autoencoder
from aekit.training.config import RunConfig

MAPPED_PROBE_BYTES = 64 << 20   # float64 pixels per probe set from a memory map (682 64x64 RGB images)


def has_labels(*splits: Split) -> bool:
    return all(s.labels is not None and len(s) > 0 for s in splits)


def code_quality(model: Autoencoder, dataset: Dataset, split: Split, seed: int, pca: PCA | None = None) -> dict | None:
    """kNN and linear-probe accuracy of the model's codes (train split → the
    evaluated split), beside the codes of `pca` (the reconstruction section's,
    fitted once) and raw pixels; None without labels. From a memory-mapped
    split, the probes see at most MAPPED_PROBE_BYTES of float64 pixels of it
    (a seeded subsample; the counts are recorded)."""
    if not has_labels(dataset.train, split):
        return None
    return probes(model, dataset.train, split, seed=seed, pca=pca,
                  max_train=_probe_images(dataset.train, MAX_TRAIN), max_test=_probe_images(split, None))


def _probe_images(split: Split, limit: int | None) -> int | None:
    if not is_mapped(split.images):
        return limit
    bounded = max(K + 1, images_within(MAPPED_PROBE_BYTES, split.images))
    return bounded if limit is None else min(limit, bounded)


@dataclass(frozen=True)
class AnomalyTask:
    """Which class is anomalous (`anomaly`) or, in the one-class setting, normal (`normal`)."""
    anomaly: int | None
    normal: int | None


def anomaly_task(config: RunConfig | None, own_data: bool, dataset: Dataset, split: Split,
                 anomaly_class: int | str | None, normal_class: int | str | None) -> AnomalyTask | None:
    """The task asked for, or the one the run was trained for: a run trained
    without one class (`--exclude-class C`) is scored with C anomalous, a run
    trained on one class alone (`--only-class C`) with C normal. Checked here,
    before any work, so a wrong class fails at once."""
    if anomaly_class is not None and normal_class is not None:
        raise AekitError("give one of --anomaly-class (that class is the anomaly) or --normal-class "
                         "(one-class: that class is normal), not both")
    if anomaly_class is None and normal_class is None and config is not None and own_data:
        excluded, only = config.data.exclude_classes or [], config.data.only_classes or []
        anomaly_class = excluded[0] if len(excluded) == 1 else None
        normal_class = only[0] if len(only) == 1 else None
    if anomaly_class is None and normal_class is None:
        return None
    option = "--anomaly-class" if anomaly_class is not None else "--normal-class"
    if not has_labels(split):
        raise AekitError(f"{option} needs class labels, and {dataset.name} has none: use a labelled dataset")
    names = dataset.classes or tuple(str(i) for i in range(int(split.labels.max()) + 1))
    index = class_index(anomaly_class if anomaly_class is not None else normal_class, names, dataset.name, option)
    return AnomalyTask(index, None) if anomaly_class is not None else AnomalyTask(None, index)


def anomaly(model: Autoencoder, split: Split, task: AnomalyTask, seed: int,
            nll: torch.Tensor | None, nll_samples: int) -> dict:
    """ROC-AUC of the reconstruction-error score and, for a VAE, of the NLL.
    The per-image NLL is the VAE section's own (gathered from every rank):
    the costly estimate is made once, not again for the scores."""
    report = anomaly_report(model, split, task.anomaly, normal_class=task.normal, seed=seed)
    if nll is not None:
        positive = split.labels == task.anomaly if task.anomaly is not None else split.labels != task.normal
        report["nll"] = {"samples": nll_samples, "roc_auc": roc_auc(nll, positive),
                         "mean_score_anomalous": float(nll[positive].mean()),
                         "mean_score_normal": float(nll[~positive].mean())}
    return {key: value for key, value in report.items() if value is not None}   # absent, not null
