"""`aekit report RUN1 RUN2 ... -o compare.html`: several runs side by side,
one row each in a metrics table, and their loss curves overlaid."""

from __future__ import annotations

import os
import time
from pathlib import Path

from aekit.errors import AekitError
from aekit.evaluation.table import format_number
from aekit.fs import atomic_write_text
from aekit.reporting import html
from aekit.reporting.html import Section
from aekit.reporting.plots import loss_figure, png_bytes
from aekit.reporting.history import (best_epoch, mean_rate, parameter_count, read_evaluation, read_history,
                                  require_run_folder, total_seconds, validated)

# Evaluation figures shown where at least one run has them: (column, path in evaluation.json).
EVALUATION_COLUMNS = (("test sq. error / image", ("reconstruction", "model", "sse")),
                      ("PCA sq. error / image", ("reconstruction", "pca", "sse")),
                      ("test PSNR (dB)", ("reconstruction", "model", "psnr_db")),
                      ("NLL (nats)", ("vae", "nll")),
                      ("kNN accuracy", ("code_quality", "model", "knn_accuracy")))


def compare(runs: list[str | Path], out: str | Path) -> Path:
    """Write the comparison page of the run folders `runs` to `out`; return its path."""
    if len(runs) < 2:
        raise AekitError("a comparison needs at least 2 run folders")
    folders = [Path(r) for r in runs]
    seen = [f.resolve() for f in folders]
    twice = next((f for f, r in zip(folders, seen) if seen.count(r) > 1), None)
    if twice is not None:
        raise AekitError(f"{twice} is given twice: name each run folder once")
    names = _names(folders)
    rows = [_summary(folder) for folder in folders]
    histories = {name: row["history"] for name, row in zip(names, rows) if row["history"]}
    units = {row["unit"] for row in rows}
    evaluated = [(col, key) for col, key in EVALUATION_COLUMNS
                 if any(_dig(r["evaluation"], key) is not None for r in rows)]
    header = ["run", "model", "data", "epochs", "final val loss", "best val loss (epoch)", "parameters",
              "training time (s)", "images/s", *(col for col, _ in evaluated)]
    table = [[name, r["model"], r["data"], r["epochs"], r["final"], r["best"], f"{r['params']:,}", r["seconds"],
              r["rate"], *(_cell(_dig(r["evaluation"], key)) for _, key in evaluated)]
             for name, r in zip(names, rows)]
    sections = [Section("Metrics", html.table(header, table), wide=True), Section("Loss curves", _curves(histories, units))]
    subtitle = (f"{len(folders)} runs: " + ", ".join(str(f) for f in folders)
                + f"; written {time.strftime('%Y-%m-%d %H:%M')}")
    out = Path(out)
    atomic_write_text(out, html.page("Runs compared", subtitle, sections))
    return out


def _curves(histories: dict[str, list[dict]], units: set[str]) -> str:
    if not histories:
        return html.note("no run has finished an epoch")
    note = "" if len(units) == 1 else html.note("the runs' losses are in different units: " + ", ".join(sorted(units)))
    picture = png_bytes(loss_figure(histories, next(iter(units)) if len(units) == 1 else ""))
    return note + html.image(picture, "loss curves of every run",
                             "train (dashed) and validation (solid) loss per epoch, one colour a run")


def _names(folders: list[Path]) -> list[str]:
    """Folder names, or paths where two folders share a name."""
    bare = [f.name or str(f) for f in folders]
    return [name if bare.count(name) == 1 else os.path.relpath(f) for name, f in zip(bare, folders)]


def _summary(folder: Path) -> dict:
    from aekit.apps.model import load

    model = load(require_run_folder(folder))
    history = read_history(folder)
    val, best, rate = validated(history), best_epoch(history), mean_rate(history)
    source = model.data
    return {"model": f"{model.kind}, {model.code_dim}-d code", "data": source.name if source else "",
            "epochs": str(history[-1]["epoch"]) if history else "0",
            "final": f"{val[-1]['val_loss']:.4f}" if val else "",
            "best": f"{best['val_loss']:.4f} ({best['epoch']})" if best else "",
            "params": parameter_count(model), "seconds": f"{total_seconds(history):.1f}",
            "rate": f"{rate:,.0f}" if rate is not None else "",
            "history": history, "unit": model.autoencoder.likelihood.unit, "evaluation": read_evaluation(folder)}


def _dig(record: dict | None, key: tuple[str, ...]):
    for part in key:
        if not isinstance(record, dict) or part not in record:
            return None
        record = record[part]
    return record


def _cell(value) -> str:
    return "" if value is None else format_number(value)
