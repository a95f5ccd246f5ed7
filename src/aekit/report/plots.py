"""Plots as PNG files (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never needs a display; set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

from aekit.fs import atomic_write_with  # noqa: E402


def plot_losses(history: list[dict], path: str | Path, unit: str = "") -> None:
    """Train and validation loss per epoch, as Keras' history plot shows."""
    epochs = [m["epoch"] for m in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(epochs, [m["train_loss"] for m in history], marker="o", label="train")
    if any("val_loss" in m for m in history):
        ax.plot([m["epoch"] for m in history if "val_loss" in m],
                [m["val_loss"] for m in history if "val_loss" in m], marker="o", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"loss per image ({unit})" if unit else "loss per image")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
