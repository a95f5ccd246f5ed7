"""`aekit.evaluate(...)`: the evaluate job, section by section."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch

from aekit.cpu import flushing_denormals
from aekit.evaluation import denoising, labelled, reconstruction, record, vae
from aekit.evaluation.data import load_data
from aekit.evaluation.shards import broadcast_record, my_chunks
from aekit.evaluation.target import load_target
from aekit.models.autoencoder import Autoencoder
from aekit.rng import fixed_rng
from aekit.run_lock import run_lock
from aekit.training import distributed
from aekit.training.device import resolve_device


def evaluate(run_or_model: "str | os.PathLike | Autoencoder", *, data=None, split: str = "test",
             nll_samples: int | None = None, anomaly_class: int | str | None = None,
             normal_class: int | str | None = None, seed: int = 0,
             weights: str = "model", write: bool = True, limit: int | None = None,
             probes: bool = True, device: str = "auto") -> dict:
    """Measure a model and return the record (documented in docs/evaluation.md).

    `run_or_model`: a run folder (its config.yaml names the data; `weights`
    picks `model`, the final weights, by default, or `best`, the best
    validation epoch), the Run that aekit.train returned (its run folder, read
    from its saved files; a Run trained with save=False has none: pass its
    model), a model file (.safetensors/.json) or an Autoencoder;
    the last two need `data` (a dataset name, a path or an aekit Dataset).
    `nll_samples`: importance samples for a VAE's NLL; None means 1000 where
    the model has an NLL, 0 none. `anomaly_class` (that class anomalous) or
    `normal_class` (one-class: that class normal), an index or a name, add
    the anomaly section; by default a run trained without one class (or on
    one class alone) gets it for that class. `limit`: evaluate that many
    images spread evenly through the split. `probes`: False leaves out the
    code-quality probes (a logistic regression on raw pixels: often the
    slowest part after the NLL). The same arguments give the same numbers,
    and the caller's random streams are left as they were. With a run
    folder and `write`, the record is also written to RUN/evaluation.json.

    Under `torchrun --nproc-per-node N`, the images are shared among the
    processes (aekit.evaluation.shards); every rank returns the record and
    rank 0 alone writes it."""
    dev = distributed.local_device(resolve_device(device))
    joined = distributed.world_size() > 1 and not torch.distributed.is_initialized()
    distributed.init(dev)
    try:
        with _writer_lock(run_or_model, write):
            # fixed_rng from the start: building a model to load weights into draws initial weights.
            with fixed_rng(seed, dev):
                target = load_target(run_or_model, weights, dev)
                data = load_data(target, data, split, limit)
                k = vae.check_nll(target.model, nll_samples)
                task = labelled.anomaly_task(target.config, data.own, data.dataset, data.split, anomaly_class,
                                             normal_class)
                with torch.inference_mode(), flushing_denormals(), target.model.evaluating():
                    out = {"meta": record.meta(target, data, seed=seed, nll_samples=k, limit=limit,
                                               task=task, probes=probes, device=dev)}
                    out.update(_sections(target.model, data, seed, k, task, probes))
            if target.run_dir is not None and write and distributed.is_main():
                record.write(target.run_dir, out)
        return out
    finally:
        if joined:
            distributed.finish()


def _writer_lock(run_or_model, write: bool):
    """The run lock (aekit/run_lock.py) of a run folder that evaluation.json
    will be written into: not while that run trains, nor evaluates elsewhere."""
    if write and distributed.is_main() and isinstance(run_or_model, (str, os.PathLike)) \
            and (Path(os.fspath(run_or_model)) / "config.yaml").is_file():   # a Run is its folder
        return run_lock(os.fspath(run_or_model))
    return contextlib.nullcontext()


def _sections(model: Autoencoder, data, seed: int, k: int, task: labelled.AnomalyTask | None, probes: bool) -> dict:
    images = data.split.images
    chunks = my_chunks(len(images))
    pca = reconstruction.fit_pca(model, data.dataset.train.images, seed)
    out = {"reconstruction": reconstruction.section(model, images, chunks, pca)}
    nll = None
    if vae.applies(model):
        out["vae"], nll = vae.section(model, images, chunks, seed, k)
    if denoising.applies(model):
        out["denoising"] = denoising.section(model, images, chunks, seed)
    # The labelled sections need all the images at once: rank 0 computes them.
    extra = {}
    if distributed.is_main():
        quality = labelled.code_quality(model, data.dataset, data.split, seed, pca) if probes else None
        if quality is not None:
            extra["code_quality"] = quality
        if task is not None:
            extra["anomaly"] = labelled.anomaly(model, data.split, task, seed, nll, k)
    out.update(broadcast_record(extra if distributed.is_main() else None))
    return out

