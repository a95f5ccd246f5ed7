"""The evaluation record: `meta` (what was evaluated, how, when) and its
writing as RUN/evaluation.json, atomically. The schema is documented in
docs/evaluation.md; a field that does not apply is absent, never zero."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import torch

from aekit import __version__
from aekit.evaluation.data import Data
from aekit.evaluation.shards import CHUNK
from aekit.evaluation.target import Target
from aekit.fs import atomic_write_text
from aekit.models.autoencoder import Autoencoder
from aekit.training import distributed

FILE_NAME = "evaluation.json"
SCHEMA = 1


def model_summary(model: Autoencoder, preset: str | None) -> dict:
    cfg = model.config
    out = {"preset": preset} if preset else {}
    out.update({
        "encoder": cfg.encoder.TYPE, "bottleneck": cfg.bottleneck.TYPE, "code_dim": model.code_dim,
        "likelihood": cfg.likelihood.TYPE, "likelihood_unit": model.likelihood.unit, "data_range": cfg.data_range,
        "regularisers": [r.TYPE for r in cfg.regularisers],
        "parameters": sum(p.numel() for p in model.main_parameters()),
    })
    if model.corrupts_input:
        out["corruption"] = cfg.corruption.TYPE
    if cfg.importance_samples > 1:   # trained on the importance-weighted bound
        out["importance_samples"] = cfg.importance_samples
    return out


def meta(target: Target, data: Data, *, seed: int, nll_samples: int, limit: int | None,
         task, probes: bool, device: torch.device) -> dict:
    out = {
        "schema": SCHEMA, "dataset": data.name, "split": data.split_name, "images": len(data.split),
        "image_shape": list(data.split.images.shape[1:]), "seed": seed, "nll_samples": nll_samples,
        "source": target.kind, "weights": target.weights, "probes": probes,
    }
    if limit is not None:
        out["limit"] = limit
    if data.own:
        for key in ("exclude_classes", "only_classes"):   # the run trained without / on these classes only
            if getattr(target.config.data, key):
                out[key] = list(getattr(target.config.data, key))
    if target.epoch is not None:
        out["epoch"] = target.epoch
    if task is not None and task.anomaly is not None:
        out["anomaly_class"] = task.anomaly
    if task is not None and task.normal is not None:
        out["normal_class"] = task.normal
    out.update({
        "model": model_summary(target.model, target.config.preset if target.config else None),
        "aekit_version": __version__, "torch_version": str(torch.__version__),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": str(device), "processes": distributed.world_size(), "chunk_images": CHUNK,
    })
    return out


def write(run_dir: Path, record: dict) -> Path:
    path = Path(run_dir) / FILE_NAME
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    return path
