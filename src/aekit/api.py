"""The Python API: what the CLI calls, usable in three lines from a notebook.

    run = aekit.train("fashion-ae", data="digits-sample", epochs=2)
    run.dir, run.history[-1]["val_loss"], run.model
    run.report                           # run.dir/report.html, written at the end
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aekit.data import Dataset, load_dataset
from aekit.errors import AekitError
from aekit.models.autoencoder import Autoencoder
from aekit.reporting.run_folder import RunFolder
from aekit.run_lock import run_lock
from aekit.models.config import ModelConfig
from aekit.schema import from_dict, to_dict
from aekit.training.callbacks import Callback
from aekit.training.config import RunConfig, resolve_config
from aekit.training.trainer import Trainer


@dataclass
class Run:
    dir: Path | None
    config: RunConfig
    model: Autoencoder
    dataset: Dataset
    history: list[dict]
    report: Path | None = None    # RUN/report.html, written at the end of the run (None: not written)

    def __fspath__(self) -> str:
        """A Run stands for its run folder wherever a path is taken
        (aekit.evaluate(run), aekit.report(run), open(Path(run) / ...))."""
        if self.dir is None:
            raise AekitError("this run saved no run folder (save=False): pass run.model, with data=..., "
                             "or train with a folder (out=...)")
        return str(self.dir)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_model(config: RunConfig, image_shape: tuple[int, int, int]) -> Autoencoder:
    model_cfg = config.model
    if model_cfg.input_shape is None:
        model_cfg.input_shape = list(image_shape)
    elif tuple(model_cfg.input_shape) != tuple(image_shape):
        raise AekitError(
            f"the model expects images of shape {model_cfg.input_shape} but the data has {list(image_shape)}: "
            "set data.image_size/data.channels or model.input_shape"
        )
    # Re-validate: input_shape took part in no check before it was known.
    config.model = from_dict(ModelConfig, to_dict(model_cfg), "model")
    return Autoencoder(config.model)


def default_run_dir(config: RunConfig, root: str | Path = "runs") -> Path:
    stem = f"{config.preset or 'run'}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = Path(root) / stem, 1
    while path.exists():
        n += 1
        path = Path(root) / f"{stem}-{n}"
    return path


def train(preset: str | None = None, *, data: str | Path | None = None, config: str | Path | dict | None = None,
          epochs: int | None = None, batch_size: int | None = None, lr: float | None = None,
          seed: int | None = None, device: str | None = None, out: str | Path | None = None,
          sets: list[str] | None = None, save: bool = True, callbacks: list[Callback] = (),
          checkpoint_every: int | None = None, precision: str | None = None, schedule: str | None = None,
          tensorboard: bool | None = None, compile: bool | None = None,
          exclude_classes: list[int | str] | None = None, only_classes: list[int | str] | None = None) -> Run:
    """Train a model from a preset and/or config file; return the finished run.

    Explicit arguments override the preset and config file; `sets` are
    ``key=value`` overrides (``"model.bottleneck.dim=8"``). With `save` the run
    folder is written to `out` (default ``runs/<preset>-<timestamp>``).
    `exclude_classes` / `only_classes` (indices or names) filter the training
    and validation images by class; the test split stays whole."""
    cfg = resolve_config(preset, config, overrides={
        "data.name": str(data) if data is not None else None, "train.epochs": epochs,
        "train.batch_size": batch_size, "train.lr": lr, "train.seed": seed, "train.device": device,
        "train.checkpoint_every": checkpoint_every, "train.precision": precision, "train.schedule": schedule,
        "train.tensorboard": tensorboard, "train.compile": compile,
        "data.exclude_classes": list(exclude_classes) if exclude_classes else None,
        "data.only_classes": list(only_classes) if only_classes else None,
    }, sets=sets)
    if cfg.data.name is None:
        raise AekitError("no dataset: give --data NAME or a path (see `aekit datasets`)")
    run_dir = None
    if save:
        run_dir = Path(out) if out is not None else default_run_dir(cfg)
        if (run_dir / "metrics.jsonl").exists():
            raise AekitError(f"{run_dir} already holds a run: choose another --out folder")
    return _fit(cfg, run_dir, callbacks, resume=False)


def resume(run_dir: str | Path, callbacks: list[Callback] = (), epochs: int | None = None) -> Run:
    """Continue a run from the checkpoint in its folder (config from config.yaml).
    `epochs` raises the run's total number of epochs, to train a finished run
    further (an LR schedule then spans the new total). A run that stopped
    early is finished: resumed, it trains no more unless `epochs` is given,
    and then its patience counts afresh."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").exists():
        raise AekitError(f"{run_dir} holds no config.yaml: give the folder of a run started by `aekit train`")
    cfg = resolve_config(config_file=run_dir / "config.yaml")
    if epochs is not None:
        cfg.train.epochs = int(epochs)
    return _fit(cfg, run_dir, callbacks, resume=True, train_on=epochs is not None)


def _fit(cfg: RunConfig, run_dir: Path | None, callbacks, resume: bool, train_on: bool = False) -> Run:
    dataset = load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction, seed=cfg.train.seed,
                           image_size=cfg.data.image_size, channels=cfg.data.channels,
                           exclude_classes=cfg.data.exclude_classes, only_classes=cfg.data.only_classes,
                           memmap=cfg.data.memmap)
    seed_everything(cfg.train.seed)
    model = build_model(cfg, dataset.image_shape)
    all_callbacks = list(callbacks)
    from aekit.training import distributed

    distributed.seed_rank(cfg.train.seed)   # same initial weights on every rank, then each its own noise

    if not distributed.is_main():   # only rank 0 writes files and shows progress
        all_callbacks = [cb for cb in all_callbacks if cb.all_ranks]
    if run_dir is not None and distributed.is_main():
        grid_source = dataset.val if len(dataset.val) else dataset.test
        info = {"name": cfg.data.name, "image_shape": list(dataset.image_shape),
                "classes": list(dataset.classes) if dataset.classes else None}
        folder = RunFolder(run_dir, cfg, grid_source.images, info)
        all_callbacks.insert(0, folder)
        if cfg.train.tensorboard:
            from aekit.training.tensorboard import TensorBoard

            all_callbacks.insert(1, TensorBoard(run_dir / "tb", image_fn=folder.grid))
    # One process at a time trains in a run folder (aekit/run_lock.py).
    with run_lock(run_dir) if run_dir is not None and distributed.is_main() else contextlib.nullcontext():
        trainer = Trainer(model, dataset.train, dataset.val, cfg.train, all_callbacks,
                          checkpoint_dir=run_dir / "checkpoint" if run_dir is not None else None)
        if resume:
            trainer.resume()
            if train_on and trainer.state.stopped_early:   # asked for more epochs: early stopping starts over
                trainer.state.stopped_early, trainer.state.bad_epochs = False, 0
        history = trainer.fit()
        distributed.finish()
        run = Run(run_dir, cfg, trainer.model, dataset, history)
        # Still under the lock: a second process must not train here while the report is written.
        if run_dir is not None and distributed.is_main():
            from aekit.reporting.run_page import report_or_warn

            run.report = report_or_warn(run)
    return run
