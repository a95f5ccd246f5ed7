"""The `aekit` command line."""

from __future__ import annotations

import sys

import click

from aekit import __version__
from aekit.cpu import tune_cpu
from aekit.errors import AekitError


class AekitGroup(click.Group):
    """Turns user errors into one line on stderr and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AekitError as err:
            click.echo(f"aekit: error: {err}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("aekit: interrupted", err=True)
            sys.exit(130)


@click.group(cls=AekitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aekit")
def cli():
    """aekit: train, evaluate and use autoencoders on images.

    \b
    Start offline, on real MNIST digits shipped with a package:
      aekit train --preset fashion-ae --data digits-sample --epochs 3
    List what exists:
      aekit presets
      aekit datasets
    """


@cli.command()
@click.option("--preset", "-p", help="Named model config; see `aekit presets`.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML config file (data/model/train sections).")
@click.option("--data", "-d", help="Dataset name (see `aekit datasets`) or a folder of images / .npy / .npz file. Default: the preset's.")
@click.option("--epochs", "-e", type=click.IntRange(min=1), help="Number of epochs.")
@click.option("--batch-size", "-b", type=click.IntRange(min=1), help="Training batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Learning rate.")
@click.option("--seed", type=int, help="Seed: the same seed gives the same run.")
@click.option("--device", help="auto (default), cpu, cuda, cuda:N or mps.")
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Run folder. Default: runs/<preset>-<timestamp>/.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override any config key, e.g. --set model.bottleneck.dim=8 (repeatable).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True),
              help="Continue the run in this folder from its last checkpoint.")
@click.option("--checkpoint-every", type=click.IntRange(min=0), help="Also checkpoint every N steps.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), help="Autocast precision (fp16: CUDA only).")
@click.option("--schedule", type=click.Choice(["none", "cosine", "step", "plateau"]), help="Learning-rate schedule.")
@click.option("--tensorboard", is_flag=True, default=None, help="Also write TensorBoard event files (pip install 'aekit[tensorboard]').")
@click.option("--compile", "compile_", is_flag=True, default=None,
              help="torch.compile the loss (train.compile); pays a compile at the first step.")
def train(preset, config_file, data, epochs, batch_size, lr, seed, device, out, sets, resume_dir, checkpoint_every,
          precision, schedule, tensorboard, compile_):
    """Train an autoencoder and write a run folder.

    \b
    The run folder holds config.yaml, metrics.jsonl, model.safetensors +
    model.json, best.safetensors (the best validation epoch), checkpoint/,
    images/epoch_NNN.png (originals above reconstructions) and loss.png.
    `--resume RUN_DIR [--epochs N]` continues a run exactly from its checkpoint
    (a run that stopped early trains on only when --epochs raises its length).
    Under `torchrun --nproc-per-node N -m aekit train ...` it trains with DDP.
    """
    from aekit.api import train as train_run
    from aekit.cli.progress import progress_callback

    if resume_dir is not None:
        from aekit.api import resume

        fixed = {"--preset": preset, "--config": config_file, "--data": data, "--batch-size": batch_size,
                 "--lr": lr, "--seed": seed, "--device": device, "--out": out, "--set": sets or None,
                 "--checkpoint-every": checkpoint_every, "--precision": precision, "--schedule": schedule,
                 "--tensorboard": tensorboard, "--compile": compile_}
        given = [flag for flag, value in fixed.items() if value is not None]
        if given:   # a resumed run must be the same run, or it would not continue exactly
            raise AekitError(f"{given[0]} cannot be changed when resuming: the run goes on with its own "
                             f"config.yaml (only --epochs may raise its length); start a new run to change it")
        run = resume(resume_dir, callbacks=[progress_callback()], epochs=epochs)
    else:
        run = train_run(preset, data=data, config=config_file, epochs=epochs, batch_size=batch_size, lr=lr,
                        seed=seed, device=device, out=out, sets=list(sets), callbacks=[progress_callback()],
                        checkpoint_every=checkpoint_every, precision=precision, schedule=schedule,
                        tensorboard=tensorboard, compile=compile_)
    from aekit.training.distributed import is_main

    if not is_main():   # under torchrun, rank 0 speaks for the run
        return
    last = run.history[-1]
    val = f", val_loss {last['val_loss']:.4f}" if "val_loss" in last else ""
    click.echo(f"trained {run.config.preset or 'model'} for {last['epoch']} epochs{val}; run folder: {run.dir}")


@cli.command()
@click.argument("name", required=False)
@click.option("--long", "-l", "long_", is_flag=True, help="Full descriptions instead of one-line summaries.")
def presets(name, long_):
    """List the named model configs, one per line; with NAME, show that preset's config."""
    import yaml

    from aekit.models.presets import get_preset, list_presets

    if name:
        click.echo(yaml.safe_dump({"preset": name, **get_preset(name)}, sort_keys=False), nl=False)
        return
    items = list_presets(long=long_)
    width = max(len(name) for name, _ in items)
    for name, description in items:
        click.echo(f"{name:<{width}}  {description}")


@cli.command()
def datasets():
    """List the built-in datasets, one per line."""
    from aekit.data import list_datasets

    items = list_datasets()
    width = max(len(name) for name, _ in items)
    for name, description in items:
        click.echo(f"{name:<{width}}  {description}")


def main(argv=None):
    # Before anything loads torch: how its OpenMP threads wait (aekit/cpu.py).
    tune_cpu()
    cli.main(args=argv, prog_name="aekit")


if __name__ == "__main__":
    main()


# The jobs on a trained model (reconstruct, encode, ...) register themselves on `cli`.
from aekit.cli import jobs  # noqa: E402,F401
