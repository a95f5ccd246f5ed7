"""`aekit pretrained`: list the shipped pretrained models; `aekit pretrained build NAME` retrains one."""

from __future__ import annotations

import click

from aekit.cli.main import cli


@cli.group(invoke_without_command=True)
@click.pass_context
def pretrained(ctx):
    """Pretrained models shipped with aekit, one line each; use them as pretrained:NAME.

    \b
      aekit reconstruct pretrained:mnist-2d digits-sample -o recon/
      aekit pretrained build fashion-ae      # retrain one from its recipe (docs/pretrained.md)
    """
    if ctx.invoked_subcommand is not None:
        return
    from aekit.pretrained import card, names
    from aekit.words import counted

    for name in names():
        c = card(name)
        r, test = c["recipe"], c["test"]
        click.echo(f"pretrained:{name:<11} {r['preset']} on {r['data']}, {counted(c['trained_epochs'], 'epoch')}; "
                   f"test error/image {test['sse_per_image']:.2f} (PCA {test['pca_sse_per_image']:.2f}): "
                   f"{c['summary']}")


@pretrained.command()
@click.argument("name")
@click.option("--out", "-o", type=click.Path(file_okay=False),
              help="Parent folder for NAME/. Default: the installed package's own (replaces the shipped "
                   "model; not allowed with --epochs or --data).")
@click.option("--epochs", "-e", type=click.IntRange(min=1), help="Override the recipe's epochs (trials only).")
@click.option("--data", "-d", help="Override the recipe's dataset (trials only).")
def build(name, out, epochs, data):
    """Retrain pretrained model NAME from its recipe (preset, dataset, epochs, seed) and write
    NAME/model.safetensors, model.json, codes.safetensors and card.json.
    On the same kind of CPU the weights come out bit for bit the same."""
    from aekit.pretrained.build import build as build_model

    build_model(name, out=out, epochs=epochs, data=data, log=click.echo)
