"""The run folder: what every training run leaves behind.

    config.yaml          the full resolved config (reruns the run)
    metrics.jsonl        one JSON line per epoch
    model.safetensors    the latest weights, + model.json to rebuild the model
    best.safetensors     the weights of the best validation loss, + best.json
    checkpoint/          the last checkpoint (`aekit train --resume RUN_DIR`)
    images/epoch_NNN.png originals (upper row of each pair) above reconstructions
    loss.png             train and validation loss curves
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from aekit.fs import atomic_write_text
from aekit.io.images import make_grid, save_png
from aekit.io.model_file import save_model
from aekit.report.plots import plot_losses
from aekit.train.callbacks import Callback
from aekit.train.config import RunConfig

GRID_COLUMNS = 10
GRID_PAIRS = 3


def spread_sample(images: torch.Tensor, count: int) -> torch.Tensor:
    """`count` images evenly spaced through the split: splits may be sorted by
    label (the digits-sample's are), and the first few would all be zeros."""
    if len(images) <= count:
        return images
    return images[torch.linspace(0, len(images) - 1, count).round().long()]


class RunFolder(Callback):
    def __init__(self, path: str | Path, config: RunConfig, grid_images: torch.Tensor, data_info: dict):
        self.path = Path(path)
        self.config = config
        self.grid_images = spread_sample(grid_images, GRID_COLUMNS * GRID_PAIRS)
        self.data_info = data_info
        self.history: list[dict] = []

    def on_fit_start(self, trainer) -> None:
        (self.path / "images").mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / "config.yaml", self.config.to_yaml())
        self.history = list(trainer.state.history)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        self.history.append(metrics)
        epoch = metrics["epoch"]
        model = trainer.model
        # Rewritten whole (atomically) rather than appended: a crash mid-write
        # can never leave a torn last line.
        atomic_write_text(self.path / "metrics.jsonl", "".join(json.dumps(m) + "\n" for m in self.history))
        save_model(model, self.path, extra={"data": self.data_info, "epoch": epoch})
        if metrics.get("best"):   # the best validation loss so far, kept apart from the latest
            save_model(model, self.path, name="best", extra={"data": self.data_info, "epoch": epoch})
        every = self.config.train.grid_every
        if every and (epoch % every == 0 or epoch == self.config.train.epochs):
            self.save_grid(model, self.path / "images" / f"epoch_{epoch:03d}.png")
        plot_losses(self.history, self.path / "loss.png", unit=getattr(model.likelihood, "unit", ""))

    def save_grid(self, model, path: Path) -> None:
        save_png(path, self.grid(model))

    @torch.inference_mode()
    def grid(self, model):
        """Originals (upper row of each pair) above reconstructions, as one image array."""
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        x = model.preprocess(self.grid_images.to(device))
        originals, recons = model.to_unit(x), model.to_unit(model(x))
        model.train(was_training)
        rows = []
        for pair in range(-(-len(x) // GRID_COLUMNS)):
            part = slice(pair * GRID_COLUMNS, (pair + 1) * GRID_COLUMNS)
            rows += [originals[part], recons[part]]
        return make_grid(torch.cat(rows), GRID_COLUMNS)
