"""Plots as PNG files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aekit.fs import atomic_write_with


def plot_losses(history: list[dict], path: str | Path, unit: str = "") -> None:
    """Train and validation loss per epoch, as Keras' history plot shows."""
    # A bare Figure on the Agg canvas: no pyplot (no display, no global figure
    # registry to close), and fixed margins instead of tight_layout, which
    # measured about a third of the plot's ~100 ms.
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.14, right=0.97, top=0.96, bottom=0.13)
    ax = fig.add_subplot()
    epochs = [m["epoch"] for m in history]
    ax.plot(epochs, [m["train_loss"] for m in history], marker="o", label="train")
    if any("val_loss" in m for m in history):
        ax.plot([m["epoch"] for m in history if "val_loss" in m],
                [m["val_loss"] for m in history if "val_loss" in m], marker="o", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"loss per image ({unit})" if unit else "loss per image")
    ax.grid(alpha=0.3)
    ax.legend()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
