"""Each preset's training speed on this machine, for the model zoo (docs/zoo.md).

    python benchmarks/zoo_speed.py                 # every preset, 3,000 images, 2 epochs each
    python benchmarks/zoo_speed.py --only aae dae  # some presets (written to zoo-speed-aae-dae.md)

Trains every preset with its own settings (model, optimiser, batch size) on
the first `--images` training images of its own dataset for `--epochs`
epochs, reads the training steps' img/s of the last epoch (`samples_per_s`:
the steps alone, without validation and files), and projects the preset's
full training: its dataset's training split x
its epochs / that rate. A projection, not a timed full run: validation,
image grids and checkpoints add to it, early stopping takes from it.
Writes benchmarks/results/zoo-speed.md (read by scripts/make_docs.py and
benchmarks/zoo_quality.py); a run of some presets writes its own file, so
that it never replaces the whole table with a part of it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import aekit

aekit.tune_cpu()   # as the aekit command does, before torch loads

from aekit.api import train  # noqa: E402
from aekit.data import load_dataset  # noqa: E402
from aekit.fs import atomic_write_text  # noqa: E402
from aekit.models.presets import preset_names  # noqa: E402
from aekit.training.config import resolve_config  # noqa: E402
from machine import cpu_name  # noqa: E402
from quick import subset  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def measure(preset: str, images: int, epochs: int, folder: str) -> tuple[str, int, int, float]:
    """(dataset, full training images, preset epochs, steps img/s on the subset)."""
    config = resolve_config(preset)
    data = config.data.name
    train_images = len(load_dataset(data, val_fraction=config.data.val_fraction).train.images)
    run = train(preset, data=subset(data, images, folder), epochs=epochs, seed=0, out=Path(folder) / preset,
                sets=["train.early_stopping_patience=null", "train.grid_every=0"])
    return data, train_images, config.train.epochs, run.history[-1]["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="PRESET", help="these presets (default: all)")
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    names = preset_names()
    unknown = [p for p in args.only or () if p not in names]
    if unknown:
        raise SystemExit(f"unknown preset(s) {', '.join(unknown)}: choose from {', '.join(names)}")
    path = RESULTS / ("zoo-speed" + (f"-{'-'.join(args.only)}" if args.only else "") + ".md")
    command = "python benchmarks/zoo_speed.py" + (f" --only {' '.join(args.only)}" if args.only else "") \
        + (f" --images {args.images}" if args.images != 3000 else "") \
        + (f" --epochs {args.epochs}" if args.epochs != 2 else "")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = os.getloadavg()[0]
    rows = ["| preset | data | training images | epochs | steps img/s | projected training minutes |",
            "| --- | --- | --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory() as folder:
        for preset in args.only or names:
            data, n, epochs, rate = measure(preset, args.images, args.epochs, folder)
            minutes = n * epochs / rate / 60
            rows.append(f"| {preset} | {data} | {n:,} | {epochs} | {rate:,.0f} | {minutes:.1f} |")
            print(rows[-1], flush=True)
    # Other processes on the machine slow every figure; the load says how busy it was.
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    text = (f"# zoo speed\n\n{stamp}, {cpu_name()}, aekit {aekit.__version__}; command: `{command}`; {load}\n\n"
            f"Steps img/s: the last of {args.epochs} epochs on the first {args.images:,} training images of the "
            "preset's dataset, the preset's own settings (early stopping off). Projected minutes: the preset's "
            "training images x its epochs / that rate (training steps only: validation and files add to it).\n\n"
            + "\n".join(rows) + "\n")
    atomic_write_text(path, text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
