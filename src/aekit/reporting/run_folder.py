"""The run folder: what every training run leaves behind.

    config.yaml          the full resolved config (reruns the run)
    metrics.jsonl        one JSON line per epoch (with the validation codes'
                         dead units, and a VAE's active units: aekit.metrics.codes)
    model.safetensors    the latest weights, + model.json to rebuild the model
    best.safetensors     the weights of the best validation loss, + best.json
    checkpoint/          the last checkpoint (`aekit train --resume RUN_DIR`)
    images/epoch_NNN.png originals (upper row of each pair) above reconstructions
    loss.png             train and validation loss curves (redrawn at most
                         every PLOT_EVERY_S seconds, and at the end of the run)
And after the last epoch, written by aekit.train rather than this callback:
    report.html          the run on one page (aekit/reporting/run_page.py)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

from aekit.metrics.codes import active_units, dead_code_units
from aekit.fs import atomic_write_text, batched_folder_sync, make_folder
from aekit.io.images import make_grid, save_png
from aekit.io.model_file import save_model
from aekit.reporting.plots import plot_losses
from aekit.training.callbacks import Callback
from aekit.training.config import RunConfig

GRID_COLUMNS = 10
GRID_PAIRS = 3
# matplotlib takes ~100 ms per loss plot, more than a short epoch's other
# files together; metrics.jsonl holds the same numbers every epoch.
PLOT_EVERY_S = 30.0


def spread_sample(images: torch.Tensor, count: int) -> torch.Tensor:
    """`count` images evenly spaced through the split: splits may be sorted by
    label (the digits-sample's are), and the first few would all be zeros."""
    if len(images) <= count:
        return images
    return images[torch.linspace(0, len(images) - 1, count).round().long()]


def code_usage(model, codes: torch.Tensor | None) -> dict:
    """{"val_dead_code_units": n} for every model, plus "val_active_units" for a
    stochastic code, from the validation images' codes (the trainer keeps
    them from its validation pass). Empty without validation images."""
    if codes is None or not len(codes):
        return {}
    usage = {"val_dead_code_units": dead_code_units(codes)}
    if model.bottleneck.stochastic:
        usage["val_active_units"] = active_units(codes)
    return usage


class RunFolder(Callback):
    def __init__(self, path: str | Path, config: RunConfig, grid_images: torch.Tensor, data_info: dict):
        self.path = Path(path)
        self.config = config
        self.grid_images = spread_sample(grid_images, GRID_COLUMNS * GRID_PAIRS)
        self.data_info = data_info
        self.plotted_epochs = 0
        self.plotted_at = 0.0

    def on_fit_start(self, trainer) -> None:
        make_folder(self.path / "images")
        atomic_write_text(self.path / "config.yaml", self.config.to_yaml())
        self.plotted_epochs, self.plotted_at = len(trainer.state.history), time.monotonic()

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        history = trainer.state.history   # already holds this epoch's metrics
        metrics.update(code_usage(trainer.model, trainer.val_codes))
        epoch = metrics["epoch"]
        model = trainer.model
        extra = {"data": self.data_info, "epoch": epoch}
        # These files need no order among themselves: one folder fsync each at the end.
        with batched_folder_sync():
            # Rewritten whole (atomically) rather than appended: a crash mid-write
            # can never leave a torn last line.
            atomic_write_text(self.path / "metrics.jsonl", "".join(json.dumps(m) + "\n" for m in history))
            save_model(model, self.path, extra=extra)
            if metrics.get("best"):   # the best validation loss so far, kept apart from the latest
                self.save_best(model, extra)
            every = self.config.train.grid_every
            if every and (epoch % every == 0 or epoch == self.config.train.epochs):
                self.save_grid(model, self.path / "images" / f"epoch_{epoch:03d}.png")
            if epoch == self.config.train.epochs or time.monotonic() - self.plotted_at >= PLOT_EVERY_S:
                self.plot(trainer)

    def on_fit_end(self, trainer) -> None:
        if self.plotted_epochs < len(trainer.state.history):   # stopped early, or a run of short epochs
            self.plot(trainer)
        dead = trainer.state.history[-1].get("val_dead_code_units", 0) if trainer.state.history else 0
        if dead:
            print(f"aekit: warning: {dead} of {trainer.model.code_dim} code units are dead (the same value on "
                  "every validation image, e.g. a ReLU code unit stuck at 0): the code is smaller than configured; "
                  "use another seed, a lower lr, or a code activation that cannot die (e.g. "
                  "--set model.bottleneck.activation=elu)", file=sys.stderr)

    def plot(self, trainer) -> None:
        history = trainer.state.history
        plot_losses(history, self.path / "loss.png", unit=trainer.model.likelihood.unit)
        self.plotted_epochs, self.plotted_at = len(history), time.monotonic()

    def save_best(self, model, extra: dict) -> None:
        """best.safetensors: the bytes of model.safetensors just written, as a
        hard link (no second serialisation, write and fsync). Safe because
        model.safetensors is only ever replaced by a rename, never rewritten in
        place, so the linked file keeps these weights. A copy where links fail."""
        tmp = self.path / ".best.safetensors.link"
        try:
            tmp.unlink(missing_ok=True)
            os.link(self.path / "model.safetensors", tmp)
            os.replace(tmp, self.path / "best.safetensors")
        except OSError:
            save_model(model, self.path, name="best", extra=extra)
            return
        atomic_write_text(self.path / "best.json", (self.path / "model.json").read_text(encoding="utf-8"))

    def save_grid(self, model, path: Path) -> None:
        save_png(path, self.grid(model))

    @torch.inference_mode()
    def grid(self, model):
        """Originals (upper row of each pair) above reconstructions, as one image array."""
        device = next(model.parameters()).device
        with model.evaluating():
            x = model.preprocess(self.grid_images.to(device))
            originals, recons = model.to_unit(x), model.to_unit(model(x))
        rows = []
        for pair in range(-(-len(x) // GRID_COLUMNS)):
            part = slice(pair * GRID_COLUMNS, (pair + 1) * GRID_COLUMNS)
            rows += [originals[part], recons[part]]
        return make_grid(torch.cat(rows), GRID_COLUMNS)
