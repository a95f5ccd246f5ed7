"""`aekit report RUN [RUN2 ...] [-o FILE]`: a run's HTML report, or several runs compared."""

from __future__ import annotations

import click

from aekit.cli.main import cli
from aekit.errors import AekitError


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--out", "-o", type=click.Path(dir_okay=False),
              help="The HTML file. Default: RUN/report.html for one run; required for several.")
def report(runs, out):
    """Write a self-contained HTML report (images inlined; views offline, on a phone too).

    \b
    One run: RUN/report.html with the config, loss curves, reconstructions,
    samples, an interpolation, the manifold grid, the latent map, the
    evaluation table beside PCA (after `aekit evaluate RUN`) and timings.
    `aekit train` writes it at the end of every run, `aekit evaluate` refreshes it.
    Several runs: one table of their metrics and their loss curves overlaid:
      aekit report runs/a runs/b -o compare.html
    """
    if len(runs) == 1:
        from aekit.reporting.run_page import report

        path = report(runs[0], out=out)
    else:
        if out is None:
            raise AekitError(f"{len(runs)} runs make a comparison page: name it with -o FILE.html")
        from aekit.reporting.compare import compare

        path = compare(list(runs), out)
    click.echo(f"report: {path}")
