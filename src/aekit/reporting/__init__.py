"""What a run leaves for people to look at: the run folder, plots, reports.

`aekit.report(run, out=None)` writes RUN/report.html (aekit/reporting/run_page.py).
The package is named `reporting`, not `report`, so that `aekit.report` is a
plain function that no submodule import can shadow (as `aekit.evaluate` is a
function and the metrics live in `aekit.metrics`)."""
