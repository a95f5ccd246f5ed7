"""`aekit explore`: the interactive latent explorer in the browser (aekit/serve)."""

from __future__ import annotations

import click

from aekit.cli.main import cli


@cli.command()
@click.argument("run")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="TCP port (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but the loopback lets other machines in (warned about).")
@click.option("--data", "-d", help="Images for the map, neighbours and slider ranges (a dataset name or path). "
                                   "Default: the data the model was trained on.")
@click.option("--open", "open_browser", is_flag=True, help="Also open the page in the default web browser.")
def explore(run, port, host, data, open_browser):
    """Explore a model's code space in the browser: RUN is a run folder, a model file, or pretrained:NAME.

    \b
    Sliders decode codes live (one per code dimension; for more than 2, one per
    leading principal axis of the training codes), a latent map of the test
    images shows each point's image and nearest neighbours, an upload box gives
    an image's code, reconstruction and anomaly score, and two chosen points
    interpolate (linear or spherical). Serves until Ctrl-C. docs/explorer.md
    lists the HTTP API and its limits.
    """
    from aekit.serve.server import explore as serve

    serve(run, host=host, port=port, data=data, open_browser=open_browser, echo=click.echo,
          warn=lambda line: click.echo(line, err=True))
