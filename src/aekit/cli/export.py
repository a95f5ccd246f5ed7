"""`aekit export`: a trained model in a format other tools run (ONNX)."""

from __future__ import annotations

import click

from aekit.cli.main import cli


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--onnx", "onnx_dir", required=True, type=click.Path(),
              help="Folder for encoder.onnx, decoder.onnx and onnx.json (created if missing).")
def export(run, onnx_dir):
    """Export a model as ONNX graphs: RUN is a run folder, a .safetensors model file or its .json.

    \b
    encoder.onnx: images float32 [N, C, H, W] in the model's data range -> codes [N, D]
                  (the deterministic code: a VAE's posterior mean, no sampling)
    decoder.onnx: codes [N, D] -> images [N, C, H, W] in the data range
    onnx.json:    shapes, data range and the pre/post-processing (docs/export.md)
    Needs the onnx extras: pip install 'aekit[onnx]'.
    """
    from aekit.io import export_onnx, load_model
    from aekit.io.onnx_export import require_onnx

    require_onnx()   # before loading anything: the fix is an install
    model = load_model(run)
    paths = export_onnx(model, onnx_dir)
    c, h, w = model.input_shape
    images, codes = f"images [N, {c}, {h}, {w}]", f"codes [N, {model.code_dim}]"
    click.echo(f"encoder: {paths['encoder']}  ({images} -> {codes}, the deterministic code)")
    click.echo(f"decoder: {paths['decoder']}  ({codes} -> {images})")
    click.echo(f"pre/post-processing: {paths['meta']}  (data range {list(model.data_range)})")
