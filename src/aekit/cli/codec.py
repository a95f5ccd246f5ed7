"""`aekit compress` / `aekit decompress`: images to and from .aek files with a
trained model (aekit/apps/codec.py; the file layout: aekit/apps/container.py)."""

from __future__ import annotations

import click

from aekit.cli.jobs import _file, _folder, _inputs, _load, _wrote, best_option, device_option, split_option
from aekit.cli.main import cli


@cli.command()
@click.argument("run")
@click.argument("inputs")
@click.option("--out", "-o", required=True, help="The .aek file to write.")
@click.option("--bits", type=int, default=8, show_default=True,
              help="Bits per code dimension of the uniform quantiser (1 to 12).")
@split_option
@best_option
@device_option
def compress(run, inputs, out, bits, split, best, device):
    """Compress images into an .aek file: the model's codes, quantised and entropy-coded.

    \b
    RUN: a run folder or a .safetensors model file (decompressing needs the same model).
    INPUTS: image files' folder, an image, a .npy/.npz, or a dataset name.
    Prints bytes per image against PNG (Pillow, optimised, one file an image) and raw
    pixels, and the PSNR of the round trip beside the model's own reconstruction's."""
    from aekit.apps.codec import compress_job

    out = _file(out, (".aek",))   # before the model loads: a bad name costs nothing
    model = _load(run, best, device)
    source = _inputs(model, inputs, split)
    result = compress_job(model, source.images, out, bits)
    rate = result.rate
    click.echo(f"{rate.images} images of {source.description} at {bits} bits per code dimension: "
               f"{rate.aek_bytes} bytes")
    click.echo(f"bytes per image: aek {rate.per_image(rate.aek_bytes):.1f}, PNG {rate.per_image(rate.png_bytes):.1f} "
               f"(optimised), raw {rate.per_image(rate.raw_bytes):.0f}")
    click.echo(f"PSNR: {rate.psnr:.2f} dB after decompression; the model's own reconstruction "
               f"{rate.psnr_model:.2f} dB")
    _wrote([result.path])


@cli.command()
@click.argument("file")
@click.argument("run")
@click.option("--out", "-o", required=True, help="Folder for images.npy (uint8 [N, C, H, W]) and grid.png.")
@best_option
@device_option
def decompress(file, run, out, best, device):
    """Decompress an .aek file with the model that compressed it (RUN) into images."""
    from pathlib import Path

    from aekit.apps.codec import decompress_job
    from aekit.errors import AekitError

    out = _folder(out)
    if not Path(file).is_file():   # before the model loads
        raise AekitError(f".aek file {file} not found: give a file that `aekit compress` wrote")
    model = _load(run, best, device)
    result = decompress_job(model, file, out)
    click.echo(f"{len(result.images)} images decompressed from {file}")
    _wrote(result.files.values())
