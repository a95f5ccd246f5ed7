"""Progress for humans: a rich bar on a terminal, one plain line per epoch
otherwise (logs, CI, pipes)."""

from __future__ import annotations

import sys
import time

from aekit.training.callbacks import Callback

# Reading the running loss is a host sync (on a GPU it waits for the queued
# steps): the bar refreshes it at most this often, never every step.
LOSS_EVERY_S = 0.5


def format_epoch(metrics: dict, epochs: int) -> str:
    parts = [f"epoch {metrics['epoch']}/{epochs}", f"train_loss {metrics['train_loss']:.4f}"]
    if "val_loss" in metrics:
        parts.append(f"val_loss {metrics['val_loss']:.4f}")
    parts.append(f"{metrics['seconds']:.1f}s")
    parts.append(f"{metrics['samples_per_s']:,.0f} img/s")
    return "  ".join(parts)


class PlainProgress(Callback):
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        print(format_epoch(metrics, trainer.config.epochs), file=self.stream, flush=True)


class RichProgress(Callback):
    def __init__(self, console=None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[speed]}"), TimeRemainingColumn(),
            console=self.console, transient=True,
        )
        self.task = None
        self.loss_at = 0.0

    def on_fit_start(self, trainer) -> None:
        self.progress.start()

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.task = self.progress.add_task("", total=trainer.steps_per_epoch,
                                           epoch=f"{epoch}/{trainer.config.epochs}", speed="", loss="...")
        self.loss_at = time.monotonic()

    def on_step_end(self, trainer, epoch, step_in_epoch, steps_per_epoch) -> None:
        task = self.progress.tasks[-1]
        speed = task.speed
        fields = {"speed": f"{speed * trainer.config.batch_size:,.0f} img/s" if speed else ""}
        now = time.monotonic()
        if now - self.loss_at >= LOSS_EVERY_S:
            self.loss_at = now
            fields["loss"] = running_loss(trainer, step_in_epoch)
        self.progress.update(self.task, completed=step_in_epoch, **fields)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        self.progress.remove_task(self.task)
        self.console.print(format_epoch(metrics, trainer.config.epochs))

    def on_fit_end(self, trainer) -> None:
        self.progress.stop()


def running_loss(trainer, step_in_epoch: int) -> str:
    """The epoch's mean training loss so far, from the sums the trainer keeps
    on the device (this process's share of the data under torchrun)."""
    total = trainer.tally.loss_so_far()
    seen = min(step_in_epoch * trainer.config.batch_size, len(trainer.train_images))
    return f"{float(total) / seen:.4f}" if total is not None and seen else "..."


def progress_callback() -> Callback:
    return RichProgress() if sys.stderr.isatty() else PlainProgress()
