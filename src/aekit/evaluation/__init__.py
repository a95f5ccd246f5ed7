"""The evaluate job: `aekit evaluate RUN` and `aekit.evaluate(run_or_model, ...)`.

One module per part of the job: what is evaluated (target.py), on which
images (data.py), how they are shared among processes (shards.py), the
sections of the record (reconstruction.py, vae.py, denoising.py,
labelled.py), the record and its file (record.py), the printed table
(table.py), and the job that runs them in order (job.py). The metric
functions themselves live in aekit.metrics.
"""

from aekit.evaluation.job import evaluate
from aekit.evaluation.table import format_table

__all__ = ["evaluate", "format_table"]
