"""The jobs on a trained model as commands: thin, each parses its options,
calls aekit.apps and prints where its outputs went.

RUN is a run folder (its model.safetensors; `--best` for best.safetensors),
a model file (`x.safetensors` or `x.json`) or a shipped model
(`pretrained:NAME`, aekit/pretrained). INPUTS: image files, a
folder, a .npy/.npz file or a dataset name (`--split`, default test); see
aekit/apps/sources.py. Options are checked by aekit itself, so a bad value
is one line (`aekit: error: ...`) and exit status 2, before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import click

from aekit.cli.main import cli
from aekit.errors import AekitError

RUN_HELP = "RUN: a run folder, a .safetensors model file or pretrained:NAME."
best_option = click.option("--best", is_flag=True, help="Use the run's best.safetensors (best validation loss).")
device_option = click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
split_option = click.option("--split", default="test", show_default=True,
                            help="Split of a dataset or .npz given as INPUTS: train, val or test.")


def _load(run: str, best: bool, device: str):
    from aekit.apps.model import load

    return load(run, device=device, best=best)


def _inputs(model, spec: str, split: str, labelled: bool = False):
    from aekit.apps.sources import read_inputs

    return read_inputs(model, spec, split, labelled)


def _positive(value: int, name: str) -> int:
    if value <= 0:
        raise AekitError(f"{name} must be a positive number, got {value}")
    return value


def _folder(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise AekitError(f"-o {out} is a file: this job writes a folder; give a folder name")
    return path


def _file(out: str, suffixes: tuple[str, ...]) -> Path:
    path = Path(out)
    if path.suffix.lower() not in suffixes or path.is_dir():
        raise AekitError(f"-o {out}: this job writes a {' or '.join(suffixes)} file; give a name such as "
                         f"out{suffixes[0]}")
    return path


def _wrote(files) -> None:
    for path in files:
        click.echo(f"wrote {path}")


@cli.command()
@click.argument("run")
@click.argument("inputs")
@click.option("--out", "-o", required=True, help="Folder for reconstruction.png, errors.csv, reconstructions.npy.")
@split_option
@click.option("-n", "n_show", type=int, default=10, show_default=True, help="Images shown in the figure.")
@best_option
@device_option
def reconstruct(run, inputs, out, split, n_show, best, device):
    """Reconstruct images: Original / Reconstruction / Error rows and each image's error.

    \b
    RUN: a run folder, a .safetensors model file or pretrained:NAME (see `aekit pretrained`).
    INPUTS: image files' folder, an image, a .npy/.npz, or a dataset name.
    Errors: Σ over pixels of (x - x̂)² on [0, 1] pixels, per image."""
    from aekit.apps.reconstruct import reconstruct_job

    out, n_show = _folder(out), _positive(n_show, "-n")
    model = _load(run, best, device)
    source = _inputs(model, inputs, split)
    result = reconstruct_job(model, source.images, out, n_show)
    click.echo(f"{len(result.errors)} images of {source.description}: mean squared error per image "
               f"{result.errors.mean():.4f} (sum over pixels, [0, 1] pixels)")
    _wrote(result.files.values())


@cli.command()
@click.argument("run")
@click.argument("inputs")
@click.option("--out", "-o", required=True, help="The .npy file of codes, float32 [N, D].")
@split_option
@click.option("--sample", is_flag=True, help="Draw z ~ q(z|x) (VAE) instead of the posterior mean.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample's draw.")
@best_option
@device_option
def encode(run, inputs, out, split, sample, seed, best, device):
    """Encode images into codes (.npy, float32 [N, D]): a VAE's posterior means unless --sample."""
    from aekit.apps.encode import encode_job

    out = _file(out, (".npy",))
    model = _load(run, best, device)
    source = _inputs(model, inputs, split)
    codes = encode_job(model, source.images, out, sample=sample, seed=seed)
    click.echo(f"{codes.shape[0]} codes of {codes.shape[1]} numbers from {source.description}")
    _wrote([out])


@cli.command()
@click.argument("run")
@click.argument("codes")
@click.option("--out", "-o", required=True, help="Folder for images.npy (uint8 [N, C, H, W]) and grid.png.")
@best_option
@device_option
def decode(run, codes, out, best, device):
    """Decode codes (a .npy of [N, D]) into images."""
    from aekit.apps.encode import decode_job

    out = _folder(out)
    model = _load(run, best, device)
    result = decode_job(model, codes, out)
    click.echo(f"{len(result.images)} images decoded")
    _wrote(result.files.values())


@cli.command()
@click.argument("run")
@click.argument("inputs")
@click.option("--out", "-o", required=True, help="Folder for denoise.png, denoised.npy (and noisy.npy).")
@click.option("--noise", help="Add noise first, for a demonstration: gaussian:SIGMA, masking:P or saltpepper:P. "
                              "Without it INPUTS are taken as already noisy.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the added noise.")
@split_option
@click.option("-n", "n_show", type=int, default=10, show_default=True, help="Images shown in the figure.")
@best_option
@device_option
def denoise(run, inputs, out, noise, seed, split, n_show, best, device):
    """Denoise images: Noisy / Denoised (/ Clean) rows, and PSNR when the clean images are known."""
    from aekit.apps.denoise import denoise_job
    from aekit.apps.noise import parse_noise

    out, n_show = _folder(out), _positive(n_show, "-n")
    if noise is not None:
        parse_noise(noise)
    model = _load(run, best, device)
    source = _inputs(model, inputs, split)
    result = denoise_job(model, source.images, out, noise=noise, seed=seed, n_show=n_show)
    if result.psnr_noisy is not None:
        click.echo(f"{len(result.denoised)} images of {source.description} with {noise} noise: PSNR "
                   f"{result.psnr_noisy:.2f} dB noisy, {result.psnr_denoised:.2f} dB denoised")
    else:
        click.echo(f"{len(result.denoised)} images of {source.description} denoised (taken as already noisy)")
    _wrote(result.files.values())


@cli.command()
@click.argument("run")
@click.option("-n", "n", type=int, default=64, show_default=True, help="Number of images.")
@click.option("--out", "-o", required=True, help="The grid's .png file.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the drawn codes.")
@best_option
@device_option
def sample(run, n, out, seed, best, device):
    """Generate new images from codes drawn from the prior (VAE: N(0, I); AAE: its
    prior; plain AE: a Gaussian fitted to its training codes, and it says so)."""
    from aekit.apps.sample import sample_job

    out, n = _file(out, (".png",)), _positive(n, "-n")
    model = _load(run, best, device)
    result = sample_job(model, n, out, seed=seed)
    click.echo(f"{n} images decoded from codes drawn from {result.source}")
    _wrote([out])


@cli.command()
@click.argument("run")
@click.argument("a")
@click.argument("b")
@click.option("--steps", type=int, default=10, show_default=True, help="Images in the strip, both ends included.")
@click.option("--method", default="linear", show_default=True, help="linear, or slerp (spherical, for Gaussian codes).")
@click.option("--out", "-o", required=True, help="The strip's .png file.")
@split_option
@best_option
@device_option
def interpolate(run, a, b, steps, method, out, split, best, device):
    """Decode the path in code space from image A to image B.

    \b
    A, B: image files, or NAME:INDEX, image INDEX of a dataset's --split
    (dataset:INDEX: the model's own training data), e.g. dataset:0 dataset:7."""
    from aekit.apps.interpolate import interpolate_job
    from aekit.apps.sources import read_one

    out = _file(out, (".png",))
    if steps < 2:
        raise AekitError(f"--steps must be at least 2 (both ends), got {steps}")
    if method not in ("linear", "slerp"):
        raise AekitError(f"--method {method!r} is unknown: use linear or slerp")
    model = _load(run, best, device)
    result = interpolate_job(model, read_one(model, a, split), read_one(model, b, split), out, steps, method)
    click.echo(f"{len(result.images)} images from {a} to {b} ({method})")
    _wrote([out])


@cli.command("latent-map")
@click.argument("run")
@click.option("--data", help="Dataset name, .npz, or a folder (class subfolders give the labels) whose images to "
                             "map. Default: the model's own data, if on disk (a 28x28 grey model "
                             "without it: digits-sample).")
@split_option
@click.option("--method", default="pca", show_default=True,
              help="For codes of more than 2 numbers: pca, tsne, or umap (if umap-learn is installed).")
@click.option("--seed", type=int, default=0, show_default=True, help="t-SNE's seed.")
@click.option("--out", "-o", required=True, help="The map's .png file (its points go to the .csv beside it).")
@best_option
@device_option
def latent_map(run, data, split, method, seed, out, best, device):
    """Plot images' codes coloured by label: 2-d codes as they are, larger ones by PCA, t-SNE or UMAP."""
    from aekit.apps.latent_map import METHODS, latent_map_job

    out = _file(out, (".png",))
    if method not in METHODS:
        raise AekitError(f"--method {method!r} is unknown: use one of {', '.join(METHODS)}")
    model = _load(run, best, device)
    if data is None:
        from aekit.apps.sources import own_inputs

        source, note = own_inputs(model, split)
        if note is not None:
            click.echo(f"aekit: warning: mapping {note}", err=True)
    else:
        source = _inputs(model, data, split, labelled=True)
    result = latent_map_job(model, source.images, source.labels, source.classes, out, method, seed,
                            title=f"codes of {source.description}")
    how = {"codes": "the 2-d codes as they are", "pca": "the codes' 2 leading principal axes",
           "tsne": "t-SNE of the codes", "umap": "UMAP of the codes"}[result.method]
    click.echo(f"{len(result.indices)} images of {source.description}: {how}")
    _wrote([out, out.with_suffix(".csv")])


@cli.command()
@click.argument("run")
@click.option("-n", "n", type=int, default=20, show_default=True, help="Images per side of the grid.")
@click.option("--span", nargs=2, type=float, help="LOW HIGH: the grid's interval on both axes (e.g. -5 5).")
@click.option("--out", "-o", required=True, help="The grid's .png file.")
@best_option
@device_option
def manifold(run, n, span, out, best, device):
    """Decode an n x n grid over a plane of the code space (see docs/jobs.md for the plane and its stretch)."""
    from aekit.apps.manifold import manifold_job

    out = _file(out, (".png",))
    if n < 2:
        raise AekitError(f"-n must be at least 2, got {n}")
    model = _load(run, best, device)
    result = manifold_job(model, out, n, tuple(span) if span else None)
    click.echo(f"{n}x{n} images over the {result.plane}, {result.stretch}")
    _wrote([out])


@cli.command()
@click.argument("run")
@click.argument("inputs")
@click.option("--out", "-o", required=True, help="The scores' .csv file.")
@click.option("--threshold", default="auto", show_default=True,
              help="auto (the 0.99 quantile of the training images' scores) or a number.")
@click.option("-n", "n_show", type=int, default=10, show_default=True,
              help="Highest-scoring images shown in the picture.")
@split_option
@best_option
@device_option
def anomaly(run, inputs, out, threshold, n_show, split, best, device):
    """Score images by reconstruction error and flag those above a threshold.

    Writes the scores' CSV and, beside it with the same name, a .png: the scores'
    histogram with the threshold, and the highest-scoring images with their
    reconstructions."""
    from aekit.apps.anomaly import anomaly_job, parse_threshold

    out, n_show = _file(out, (".csv",)), _positive(n_show, "-n")
    parse_threshold(threshold)
    model = _load(run, best, device)
    source = _inputs(model, inputs, split)
    result = anomaly_job(model, source.images, out, threshold, n_show=n_show, what=source.description)
    click.echo(f"threshold {result.threshold:.4f} ({result.threshold_source})")
    click.echo(f"{int(result.flagged.sum())} of {len(result.scores)} images of {source.description} flagged")
    _wrote([out, result.figure])


@cli.command()
@click.argument("run")
@best_option
def info(run, best):
    """Show a model: parameters per part, code size, its data, last metrics and evaluation."""
    import yaml

    from aekit.apps.info import info as model_info

    click.echo(yaml.safe_dump(model_info(_load(run, best, "cpu")), sort_keys=False, allow_unicode=True), nl=False)
