"""The jobs' pictures: labelled rows of images and scatter plots, as PNG
files written atomically (matplotlib on a bare Agg canvas: no pyplot, no
display, no global figure registry)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aekit.fs import atomic_write_with
from aekit.io.images import make_grid

ROW_INCHES = 1.0
LABEL_INCHES = 1.3   # room for the longest row label, "Reconstruction"


def spread(n_total: int, count: int) -> torch.Tensor:
    """`count` indices evenly spaced through `n_total` images: a split may be
    sorted by label (digits-sample's is), and its first images all one digit."""
    if n_total <= count:
        return torch.arange(n_total)
    return torch.linspace(0, n_total - 1, count).round().long()


def save_rows(rows: list[tuple[str, torch.Tensor]], path: str | Path) -> None:
    """One row per (label, images [n, C, H, W] in [0, 1]), the label at its left."""
    n = max(len(images) for _, images in rows)
    width = LABEL_INCHES + 0.8 * n
    fig = Figure(figsize=(width, ROW_INCHES * len(rows)), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=LABEL_INCHES / width, right=0.99, top=0.98, bottom=0.02, hspace=0.08)
    for i, (label, images) in enumerate(rows):
        draw_strip(fig.add_subplot(len(rows), 1, i + 1), label, images, n)
    save_figure(fig, path)


def draw_strip(ax, label: str, images: torch.Tensor, ncols: int) -> None:
    """Images [n, C, H, W] in [0, 1] side by side on `ax`, no ticks, the label at the left."""
    strip = make_grid(images, ncols=ncols, pad=1, scale=1)
    ax.imshow(strip, cmap="gray" if strip.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)


def error_images(original: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """|x - x̂| per pixel, averaged over channels: [n, 1, H, W] in [0, 1] (white: no error)."""
    return 1.0 - (original - recon).abs().mean(1, keepdim=True)


def save_scatter(coords: np.ndarray, labels: np.ndarray | None, classes: list[str] | None, path: str | Path,
                 title: str, axis_names: tuple[str, str]) -> None:
    """Points coloured by label, with a legend naming the classes."""
    fig = Figure(figsize=(7, 6), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.1, right=0.78, top=0.93, bottom=0.09)
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=3, alpha=0.6, color="tab:blue")
    else:
        colours = _colours(int(labels.max()) + 1 if len(labels) else 1)
        for k in np.unique(labels):
            mask = labels == k
            name = classes[k] if classes is not None and k < len(classes) else str(k)
            ax.scatter(coords[mask, 0], coords[mask, 1], s=3, alpha=0.6, color=colours[k], label=name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=4, frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    save_figure(fig, path)


def save_anomaly_figure(scores: np.ndarray, threshold: float, worst: torch.Tensor, worst_recon: torch.Tensor,
                        worst_scores: np.ndarray, path: str | Path, what: str,
                        reference: np.ndarray | None = None, reference_label: str = "") -> None:
    """The anomaly job's picture: a histogram of the images' scores with the threshold (and the
    reference images' scores that set it, when known), then the highest-scoring images above their
    reconstructions, each with its score."""
    width = max(7.0, LABEL_INCHES + 0.8 * len(worst))
    fig = Figure(figsize=(width, 5.2), dpi=100)
    FigureCanvasAgg(fig)
    outer = fig.add_gridspec(2, 1, height_ratios=[3.0, 2.0], left=LABEL_INCHES / width, right=0.98,
                             top=0.93, bottom=0.03, hspace=0.3)
    strips = outer[1].subgridspec(2, 1, hspace=0.2)
    ax = fig.add_subplot(outer[0])
    values = [v for v in (scores, reference) if v is not None and len(v)]
    edge = histogram_edge(values, threshold)
    bins = np.linspace(0.0, edge, 50)
    ax.hist(np.minimum(scores, edge), bins=bins, color="tab:blue", alpha=0.7, label=f"{what} ({len(scores)})")
    if reference is not None:
        ax.hist(np.minimum(reference, edge), bins=bins, histtype="step", color="black",
                weights=np.full(len(reference), len(scores) / max(len(reference), 1)),
                label=f"{reference_label} ({len(reference)}, scaled to the same count)")
    flagged = int((scores > threshold).sum())
    ax.axvline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:.3g}: {flagged} flagged")
    beyond = [int((scores > edge).sum())] + ([int((reference > edge).sum())] if reference is not None else [])
    note = f"; beyond {edge:.3g}, in the last bin: " + " + ".join(
        f"{n} {name}" for n, name in zip(beyond, ("images", "reference"))) if sum(beyond) else ""
    ax.set_xlabel(f"score: squared error per image, Σ (x - x̂)² on [0, 1] pixels{note}", fontsize=9)
    ax.set_ylabel("images", fontsize=9)
    ax.legend(fontsize=8, frameon=False, loc="best")
    ax.set_title("Anomaly scores", fontsize=10)
    ax = fig.add_subplot(strips[0])
    draw_strip(ax, "Highest\nscores", worst, len(worst))
    width_px = worst.shape[-1]   # each image's score under it (make_grid's tiles: 1 px apart and around)
    ax.set_xticks([1 + (width_px + 1) * i + width_px / 2 for i in range(len(worst))])
    ax.set_xticklabels([f"{s:.3g}" for s in worst_scores], fontsize=7)
    ax.tick_params(length=0, pad=1)
    draw_strip(fig.add_subplot(strips[1]), "Recon-\nstruction", worst_recon, len(worst))
    save_figure(fig, path)


def histogram_edge(values: list[np.ndarray], threshold: float) -> float:
    """The histogram's right edge: 1.1 x the larger of the threshold and the scores' 0.995 quantile, so
    that a few extreme scores do not squeeze the rest into one bin (they go into the last bin)."""
    top = max([threshold] + [float(np.quantile(v, 0.995)) for v in values])
    return top * 1.1 if top > 0 else 1.0


def _colours(k: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(k)]


def save_figure(fig: Figure, path: str | Path) -> None:
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
