"""Plots as PNG files (matplotlib, headless)."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aekit.fs import atomic_write_with


def plot_losses(history: list[dict], path: str | Path, unit: str = "") -> None:
    """Train and validation loss per epoch, as Keras' history plot shows."""
    fig = loss_figure({"": history}, unit)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png"))


def loss_figure(histories: dict[str, list[dict]], unit: str = "") -> Figure:
    """Train and validation loss per epoch of each run (named by its key; one
    run: key ""), a run's two curves in one colour: train dashed, validation solid."""
    # A bare Figure on the Agg canvas: no pyplot (no display, no global figure
    # registry to close), and fixed margins instead of tight_layout, which
    # measured about a third of the plot's ~100 ms.
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.14, right=0.97, top=0.96, bottom=0.13)
    ax = fig.add_subplot()
    for i, (name, history) in enumerate(histories.items()):
        colour = f"C{i % 10}"
        prefix = f"{name}: " if name else ""
        ax.plot([m["epoch"] for m in history], [m["train_loss"] for m in history], marker="o", color=colour,
                linestyle="--" if name else "-", label=prefix + "train")
        val = [m for m in history if "val_loss" in m]
        if val:
            ax.plot([m["epoch"] for m in val], [m["val_loss"] for m in val], marker="o",
                    color=colour if name else "C1", label=prefix + "validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"loss per image ({unit})" if unit else "loss per image")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8 if len(histories) > 1 else None)
    return fig


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
