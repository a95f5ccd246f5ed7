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
        except EOFError as err:
            # A reader met the end of a file before its data (numpy on an empty .npy, pickle, ...). Left to
            # click, it would become an Abort and read "interrupted"; readers should raise AekitError naming
            # the file, and this is the line for one that does not.
            click.echo(f"aekit: error: cannot read an input file: it ends before its data (EOFError: {err}), "
                       "so it is empty or cut short: save it again", err=True)
            sys.exit(2)


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
@click.option("--exclude-class", "exclude_classes", multiple=True, metavar="C",
              help="Leave class C (index or name; repeatable or a comma list) out of train/val; test keeps it.")
@click.option("--only-class", "only_classes", multiple=True, metavar="C",
              help="Train on class C alone (one-class setting; repeatable or a comma list); test keeps every class.")
def train(preset, config_file, data, epochs, batch_size, lr, seed, device, out, sets, resume_dir, checkpoint_every,
          precision, schedule, tensorboard, compile_, exclude_classes, only_classes):
    """Train an autoencoder and write a run folder.

    \b
    The run folder holds config.yaml, metrics.jsonl, model.safetensors +
    model.json, best.safetensors (the best validation epoch), checkpoint/,
    images/epoch_NNN.png (originals above reconstructions), loss.png and
    report.html (the run on one page: `aekit report`).
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
                 "--tensorboard": tensorboard, "--compile": compile_,
                 "--exclude-class": exclude_classes or None, "--only-class": only_classes or None}
        given = [flag for flag, value in fixed.items() if value is not None]
        if given:   # a resumed run must be the same run, or it would not continue exactly
            raise AekitError(f"{given[0]} cannot be changed when resuming: the run goes on with its own "
                             f"config.yaml (only --epochs may raise its length); start a new run to change it")
        run = resume(resume_dir, callbacks=[progress_callback()], epochs=epochs)
    else:
        run = train_run(preset, data=data, config=config_file, epochs=epochs, batch_size=batch_size, lr=lr,
                        seed=seed, device=device, out=out, sets=list(sets), callbacks=[progress_callback()],
                        checkpoint_every=checkpoint_every, precision=precision, schedule=schedule,
                        tensorboard=tensorboard, compile=compile_,
                        exclude_classes=_class_list(exclude_classes), only_classes=_class_list(only_classes))
    from aekit.training.distributed import is_main

    if not is_main():   # under torchrun, rank 0 speaks for the run
        return
    last = run.history[-1]
    val = f", val_loss {last['val_loss']:.4f}" if "val_loss" in last else ""
    from aekit.words import counted

    click.echo(f"trained {run.config.preset or 'model'} for {counted(last['epoch'], 'epoch')}{val}; "
               f"run folder: {run.dir}")
    if run.report is not None:
        click.echo(f"report: {run.report}")


@cli.command()
@click.option("--preset", "-p", help="Named model config; see `aekit presets`.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML config file (data/model/train sections).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", required=True,
              help="Exactly one with a comma list (the swept key, e.g. model.bottleneck.dim=2,5,10); others fixed.")
@click.option("--data", "-d", help="Dataset name or path. Default: the preset's.")
@click.option("--epochs", "-e", type=click.IntRange(min=1), help="Epochs of every run.")
@click.option("--seed", type=int, help="Seed of every run.")
@click.option("--device", help="auto (default), cpu, cuda, cuda:N or mps.")
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Parent folder. Default: runs/sweep-<preset>-<key>/.")
def sweep(preset, config_file, sets, data, epochs, seed, device, out):
    """Train one run per value of one config key and compare them on the test split.

    \b
    Writes PARENT/<key>-<value>/ run folders and PARENT/sweep.csv, sweep.md,
    sweep.png (test error per image against the value, PCA beside it).
    Resumable: run it again and finished values are not retrained.
      aekit sweep --preset dense-ae-32 --set model.bottleneck.dim=2,5,10,20,50 --epochs 10
    """
    from aekit.cli.progress import progress_callback
    from aekit.sweeps import sweep as run_sweep

    result = run_sweep(preset, sets=list(sets), config=config_file, data=data, epochs=epochs, seed=seed,
                       device=device, out=out, callbacks=[progress_callback()], log=click.echo)
    click.echo(f"sweep of {result.key}: {result.dir / 'sweep.md'}, sweep.csv, sweep.png")


def _class_list(values: tuple[str, ...]) -> list[str] | None:
    """`--exclude-class 1,7 --exclude-class 3` -> ["1", "7", "3"] (resolved by the data layer)."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items or None


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--data", "-d", help="Dataset name or path. Default: the run's own (required for a model file).")
@click.option("--split", default="test", show_default=True, type=click.Choice(["test", "val", "train"]),
              help="Which split to evaluate.")
@click.option("--nll-samples", type=click.IntRange(min=0),
              help="Importance samples for a VAE's NLL (0: none). Default: 1000 for a VAE with an NLL.")
@click.option("--anomaly-class", metavar="C", help="Score class C (index or name) as the anomaly against the rest "
              "(ROC-AUC). Default: the class a run was trained without (--exclude-class C).")
@click.option("--normal-class", metavar="C", help="One-class setting: class C normal, the rest anomalous. "
              "Default: the class a run was trained on alone (--only-class C).")
@click.option("--weights", default="model", show_default=True, type=click.Choice(["model", "best"]),
              help="A run's final weights (model) or its best validation epoch's (best).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every sampled figure.")
@click.option("--limit", type=click.IntRange(min=1), help="Evaluate N images spread evenly through the split.")
@click.option("--no-probes", is_flag=True, help="Leave out the code-quality probes (the slowest part after the NLL).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON instead of the table.")
def evaluate(run, data, split, nll_samples, anomaly_class, normal_class, weights, seed, limit, no_probes, device,
             as_json):
    """Measure a trained model: reconstruction against PCA, a VAE's ELBO and
    NLL, denoising PSNR, code quality, anomaly ROC-AUC (where they apply).

    \b
    RUN is a run folder (writes RUN/evaluation.json) or a model file
    (.safetensors/.json, with --data). docs/evaluation.md lists every field.
    Under `torchrun --nproc-per-node N -m aekit evaluate ...` the images are
    shared among the processes, with the figures of one process.
    """
    import json
    import os

    from aekit.evaluation import evaluate as evaluate_job, format_table
    from aekit.training.distributed import is_main

    record = evaluate_job(run, data=data, split=split, nll_samples=nll_samples, anomaly_class=anomaly_class,
                          normal_class=normal_class, seed=seed, weights=weights, limit=limit,
                          probes=not no_probes, device=device)
    if not is_main():   # under torchrun, rank 0 speaks
        return
    click.echo(json.dumps(record, indent=2) if as_json else format_table(record), nl=as_json)
    if os.path.isdir(run):   # a run folder's report shows evaluation.json: refresh it
        from aekit.reporting.run_page import report_or_warn

        written = report_or_warn(run)
        if written is not None:
            click.echo(f"report: {written}", err=True)   # stdout holds the table (or the JSON) alone


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


# Commands kept in modules of their own register themselves on `cli`: the
# jobs on a trained model (reconstruct, encode, ...), `aekit export` and
# `aekit compress` / `aekit decompress`, `aekit explore`, `aekit pretrained`, `aekit report`.
from aekit.cli import codec, explore, export, jobs, pretrained, report  # noqa: E402,F401


def main(argv=None):
    # Before anything loads torch: how its OpenMP threads wait (aekit/cpu.py).
    tune_cpu()
    try:
        code = cli.main(args=argv, prog_name="aekit", standalone_mode=False)
    except click.UsageError as err:
        # click's own form is three lines (usage, hint, error); aekit's errors are one.
        hint = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
        click.echo(f"aekit: error: {err.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as err:
        click.echo(f"aekit: error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except click.Abort:   # Ctrl-C at a prompt, or before a command ran
        click.echo("aekit: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
