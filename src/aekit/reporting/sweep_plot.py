"""sweep.png: a sweep's test error against the swept value, with PCA at the
same code size beside it (the linear baseline each run must beat)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aekit.fs import atomic_write_with


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def plot_sweep(rows: list[dict], key: str, path: str | Path) -> None:
    """Test squared error per image (model, and PCA with as many components as
    the code) against the swept value: on a log x axis when every value is a
    positive number (code sizes 2 ... 50 spread evenly), else one tick per value."""
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.14, right=0.97, top=0.93, bottom=0.13)
    ax = fig.add_subplot()
    numbers = [_number(row["value"]) for row in rows]
    numeric = all(n is not None and n > 0 for n in numbers)
    order = sorted(range(len(rows)), key=lambda i: numbers[i]) if numeric else list(range(len(rows)))
    x = [numbers[i] for i in order] if numeric else list(range(len(rows)))
    ax.plot(x, [rows[i]["test_sse"] for i in order], marker="o", label="model")
    pca = [(xi, rows[i]["pca_sse"]) for xi, i in zip(x, order) if rows[i]["pca_sse"] is not None]
    if pca:   # absent where no PCA of the code's size exists (a code wider than the images)
        ax.plot(*zip(*pca), marker="s", linestyle="--", label="PCA, same code size")
    if numeric:
        ax.set_xscale("log")
        ax.set_xticks(x, [rows[i]["value"] for i in order])
        ax.minorticks_off()
    else:
        ax.set_xticks(x, [rows[i]["value"] for i in order])
    ax.set_xlabel(key)
    ax.set_ylabel("test squared error per image")
    ax.set_title("test error against " + key.rsplit(".", 1)[-1], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
