"""`aekit.report(run)`: RUN/report.html, one self-contained page about a run
(the sections: aekit/reporting/sections.py)."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aekit.errors import AekitError
from aekit.fs import atomic_write_text
from aekit.run_lock import run_lock
from aekit.reporting import html
from aekit.reporting.history import parameter_count, read_evaluation, read_history, require_run_folder
from aekit.reporting.sections import Subject, run_sections
from aekit.words import counted

REPORT_NAME = "report.html"


def report(run: Any, out: str | Path | None = None, data: Any = None) -> Path:
    """Write the HTML report of `run` (a run folder, or the Run that
    `aekit.train` returned) to `out` (default RUN/report.html); return its path.
    The pictures use the run's own dataset (or `data`, an aekit Dataset); if it
    cannot be loaded offline, those sections say why and the rest is written."""
    run_dir = _run_folder(run)
    if out is None:
        if run_dir is None:
            raise AekitError("this run has no folder (trained with save=False): give out=FILE.html for its report")
        out = run_dir / REPORT_NAME
    out = Path(out)
    # Written into the run folder: under its lock (aekit/run_lock.py), not while the run trains. aekit.train
    # writes the report holding it already, and passes through.
    into_run = run_dir is not None and out.resolve().parent == run_dir.resolve()
    with run_lock(run_dir) if into_run else contextlib.nullcontext():
        atomic_write_text(out, _page(run, data, run_dir))
    return out


def _page(run: Any, data: Any, run_dir: Path | None) -> str:
    """The report's HTML."""
    in_training = getattr(getattr(run, "model", None), "training", False)   # a Run's model: its mode is kept
    try:
        subject_args = _open(run, data, run_dir)
        with tempfile.TemporaryDirectory(prefix="aekit-report-") as tmp:
            subject = Subject(**subject_args, workdir=Path(tmp))
            sections = run_sections(subject)
    finally:
        if in_training:
            run.model.train()
    title = f"{run_dir.name if run_dir is not None else 'run'}: report"
    return html.page(title, describe(subject.model, subject.history), sections)


def _run_folder(run: Any) -> Path | None:
    """The folder of `run` (a Run, whose folder may be None, or a run folder's path), checked."""
    from aekit.api import Run

    if isinstance(run, Run):
        return run.dir
    return require_run_folder(Path(run))


def _open(run: Any, data: Any, run_dir: Path | None) -> dict:
    """The report's ingredients from a run folder or a Run (its model and data already in memory)."""
    from aekit.api import Run
    from aekit.apps.model import load

    if isinstance(run, Run):
        device = str(next(run.model.parameters()).device)
        model = load(run, device=device)
        config_yaml, history, dataset = run.config.to_yaml(), run.history, data or run.dataset
    else:
        model = load(run_dir)
        config_yaml, history, dataset = (run_dir / "config.yaml").read_text(encoding="utf-8"), read_history(run_dir), data
    problem = ""
    if dataset is None:
        dataset, problem = _load_data(model)
    return dict(model=model, config_yaml=config_yaml, history=history, dataset=dataset, data_problem=problem,
                evaluation=read_evaluation(run_dir))


def _load_data(model):
    """(the run's dataset, "") or (None, why it could not be loaded), offline: a report downloads nothing."""
    source = model.data
    if source is None:
        return None, "the model names no training data"
    try:
        return source.load(download=False), ""
    except (AekitError, OSError, ValueError) as err:
        return None, f"the run's data ({source.name}) could not be loaded: {err}"


def describe(model, history: list[dict]) -> str:
    """One line under the title: what was trained, on what, for how long, when."""
    source = model.data
    data = f" on {source.name}" if source is not None else ""
    epochs = f", {counted(history[-1]['epoch'], 'epoch')}" if history else ""
    return (f"{model.kind} with a {model.code_dim}-d code, images {list(model.input_shape)}, "
            f"{parameter_count(model):,} parameters{data}{epochs}; report written {time.strftime('%Y-%m-%d %H:%M')}")


def report_or_warn(run) -> Path | None:
    """After a training run (a Run) or an evaluation (a run folder): the
    report, or one warning line if it could not be written. The run folder is
    complete either way, so no error of the report's, whatever its kind, may
    fail the job."""
    run_dir = Path(run.dir if hasattr(run, "dir") else run)
    try:
        return report(run)
    except Exception as err:   # noqa: BLE001: see above
        print(f"aekit: warning: {run_dir / REPORT_NAME} not written ({type(err).__name__}: {err}); the run is "
              f"complete: `aekit report {run_dir}` retries", file=sys.stderr)
        return None
