"""TensorBoard event files (optional extra `aekit[tensorboard]`): the epoch's
scalars, and the reconstruction grid as an image."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from aekit.errors import AekitError
from aekit.training.callbacks import Callback


class TensorBoard(Callback):
    def __init__(self, folder: str | Path, image_fn: Callable | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise AekitError("--tensorboard needs the tensorboard package: pip install 'aekit[tensorboard]'") from None
        self.writer = SummaryWriter(str(folder))
        self.image_fn = image_fn   # model -> uint8 grid (H, W) or (H, W, 3)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        epoch = metrics["epoch"]
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "epoch":
                self.writer.add_scalar(key, value, epoch)
        if self.image_fn is not None:
            grid = np.asarray(self.image_fn(trainer.model))
            self.writer.add_image("reconstructions", grid, epoch, dataformats="HW" if grid.ndim == 2 else "HWC")
        self.writer.flush()

    def on_fit_end(self, trainer) -> None:
        self.writer.close()
