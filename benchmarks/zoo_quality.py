"""Every preset's test figures, for the model zoo (docs/zoo.md, issue #15).

    python benchmarks/zoo_quality.py                       # every preset, 2 quiet CPU minutes of training each
    python benchmarks/zoo_quality.py --only aae dae        # some presets (written to zoo-quality-aae-dae.md)
    python benchmarks/zoo_quality.py --minutes 10          # a larger budget per preset
    python benchmarks/zoo_quality.py --quick --only dae    # 1 epoch on 300 images, 300 test images: checks the script

Trains each preset on its own dataset with its own settings (nothing
overridden but the epochs; early stopping as the preset has it), seed 0,
for its own epochs or as many as fit `--minutes` quiet-equivalent CPU
minutes (benchmarks/quality.py's Minutes): epochs = budget / the minutes an
epoch takes at the img/s that benchmarks/results/zoo-speed.md measured, at
least 1. Then `aekit.evaluate` on the whole test split, probes on, and a
VAE's NLL with k = 100 importance samples on 1,000 test images spread
through the split (enough to rank models; the published figures use
k = 5000 on all 10,000, see benchmarks/quality.py --task nll).

The default budget keeps the zoo near 40 quiet minutes on the 2-core CPU:
by zoo-speed.md (15:52 UTC), 2 minutes each is about 34 minutes of training
(beta-vae and vae-conv take 1 epoch, 3.0 and 2.8 minutes), plus 10-20 s of
evaluation a preset and some 1.5 minutes for beta-vae's NLL. Runs the
cheapest presets first and rewrites benchmarks/results/zoo-quality.md after
each (marked PARTIAL until the last), so a run stopped short keeps what it
measured; scripts/make_docs.py shows its rows on the zoo page.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from quality import Minutes, Recipe, trained   # first: it tunes the CPU before torch loads

import aekit  # noqa: E402
from aekit.data import Dataset, load_dataset  # noqa: E402
from aekit.evaluation import evaluate  # noqa: E402
from aekit.evaluation.data import spread  # noqa: E402
from aekit.evaluation.vae import nll_applies  # noqa: E402
from aekit.fs import atomic_write_text  # noqa: E402
from aekit.models.presets import preset_names  # noqa: E402
from aekit.reporting.history import read_history  # noqa: E402
from aekit.training.config import resolve_config  # noqa: E402
from machine import cpu_name  # noqa: E402
from quick import subset  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SPEEDS = RESULTS / "zoo-speed.md"
NLL_SAMPLES = 100           # importance samples of a VAE's NLL, on NLL_IMAGES test images spread through the split
NLL_IMAGES = 1000
QUICK_IMAGES = 300          # --quick: training images, and test images evaluated


@dataclass
class Speed:
    train_images: int
    epochs: int                # the preset's
    img_per_s: float

    def minutes_per_epoch(self) -> float:
        return self.train_images / self.img_per_s / 60


def speeds(path: Path = SPEEDS) -> dict[str, Speed]:
    """{preset: Speed} from zoo-speed.md's table (benchmarks/zoo_speed.py writes it)."""
    if not path.is_file():
        sys.exit(f"{path} is missing: run `python benchmarks/zoo_speed.py` first (it measures each preset's img/s)")
    out = {}
    for line in path.read_text().splitlines():
        cells = [c.strip().replace(",", "") for c in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) == 6 and cells[2].isdigit():
            out[cells[0]] = Speed(int(cells[2]), int(cells[3]), float(cells[4]))
    return out


def budget_epochs(speed: Speed, minutes: float) -> int:
    """The preset's epochs, or as many as fit `minutes` (at least 1)."""
    return max(1, min(speed.epochs, math.floor(minutes / speed.minutes_per_epoch())))


def quick_dataset(name: str) -> Dataset:
    """--quick: the dataset cut to QUICK_IMAGES images a split, so that PCA and the probes fit in seconds."""
    full = load_dataset(name)
    return replace(full, train=spread(full.train, QUICK_IMAGES), test=spread(full.test, QUICK_IMAGES))


def measure(preset: str, epochs: int, quick: bool, folder: Path) -> tuple[dict, int, Minutes]:
    """(evaluation record, epochs trained, training minutes) of one preset."""
    data = resolve_config(preset).data.name
    recipe = Recipe(preset, epochs=epochs)
    if quick:   # a few hundred images; the run's data is then a .npy, so evaluate is given the (cut) dataset
        run_dir, minutes = trained(recipe, subset(data, QUICK_IMAGES, str(folder)), True, folder)
    else:
        run_dir, minutes = trained(recipe, data, False, folder)
    dataset = quick_dataset(data) if quick else None     # None: the run's own
    record = evaluate(run_dir, data=dataset, write=False, nll_samples=0)
    if nll_applies(aekit.load(run_dir).autoencoder):
        # On NLL_IMAGES test images: k decodes an image make beta-vae's conv decoder (1.7 CPU s per 1,000
        # decodes) cost ~15 quiet minutes on all 10,000 at k = 100, ~1.5 on 1,000.
        nll = evaluate(run_dir, data=dataset, write=False, nll_samples=10 if quick else NLL_SAMPLES,
                       limit=NLL_IMAGES, probes=False)
        record["vae"]["nll"] = nll["vae"]["nll"]
    return record, len(read_history(run_dir)), minutes


HEAD = ["preset", "data", "epochs trained / its epochs", "training minutes, quiet-equivalent (wall)",
        "test SSE per image", "PCA at code size", "ratio to PCA", "BCE per pixel", "PSNR dB",
        "ELBO (nats)", f"NLL, k = {NLL_SAMPLES}, {NLL_IMAGES:,} test images (nats)", "active units", "kNN accuracy",
        "linear probe accuracy"]


def row(preset: str, data: str, record: dict, trained_epochs: int, epochs: int, minutes: Minutes) -> str:
    rec = record["reconstruction"]
    model, pca = rec["model"], rec.get("pca")
    vae = record.get("vae", {})
    probes = record.get("code_quality", {}).get("model", {})
    cells = [preset, data, f"{trained_epochs} / {epochs}", str(minutes), f"{model['sse']:.2f}",
             f"PCA-{pca['components']} {pca['sse']:.2f}" if pca else "-",
             f"{rec['ratio']['sse']:.3f}" if pca else "-",
             f"{model['bce_per_pixel']:.4f}", f"{model['psnr_db']:.2f}",
             f"{vae['elbo']:.2f}" if "elbo" in vae else "-", f"{vae['nll']:.2f}" if "nll" in vae else "-",
             f"{vae['active_units']} of {vae['latent_dim']}" if "active_units" in vae else "-",
             f"{probes['knn_accuracy']:.4f}" if probes else "-",
             f"{probes['linear_probe_accuracy']:.4f}" if probes else "-"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="PRESET", help="these presets (default: all)")
    parser.add_argument("--minutes", type=float, default=2.0,
                        help="quiet-equivalent CPU minutes of training per preset (default 2: the zoo in ~40)")
    parser.add_argument("--quick", action="store_true", help=f"1 epoch on {QUICK_IMAGES} training images, "
                        f"evaluated on {QUICK_IMAGES} test images (k = 10): checks the script, compares nothing, "
                        "writes nothing")
    args = parser.parse_args()
    names = preset_names()
    unknown = [p for p in args.only or () if p not in names]
    if unknown:
        sys.exit(f"unknown preset(s) {', '.join(unknown)}: choose from {', '.join(names)}")
    presets = args.only or names
    if args.minutes <= 0:
        sys.exit(f"--minutes must be positive, got {args.minutes}")
    measured = speeds()
    missing = [p for p in presets if p not in measured]
    if missing:
        sys.exit(f"no speed for {', '.join(missing)} in {SPEEDS.name}: run "
                 f"`python benchmarks/zoo_speed.py --only {' '.join(missing)}` first")

    command = "python benchmarks/zoo_quality.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    load_start = os.getloadavg()[0]
    header = (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu_name()}, aekit {aekit.__version__}; "
              f"command: `{command.strip()}`; load average at the start {load_start:.1f}")
    print(header + (" (QUICK: compares nothing)" if args.quick else ""), flush=True)
    name = "zoo-quality" + (f"-{'-'.join(args.only)}" if args.only else "")
    # The cheapest first, so that a run stopped short has measured as many presets as it could.
    presets = sorted(presets, key=lambda p: budget_epochs(measured[p], args.minutes) * measured[p].minutes_per_epoch())
    rows, started = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for preset in presets:
            speed = measured[preset]
            epochs = 1 if args.quick else budget_epochs(speed, args.minutes)
            record, trained_epochs, minutes = measure(preset, epochs, args.quick, Path(tmp))
            rows.append(row(preset, resolve_config(preset).data.name, record, trained_epochs, speed.epochs, minutes))
            print(rows[-1], flush=True)
            if not args.quick:
                done = len(rows) == len(presets)
                end = (f"load average at the end {os.getloadavg()[0]:.1f}; "
                       f"{(time.perf_counter() - started) / 60:.0f} wall minutes in all" if done else
                       f"PARTIAL: {len(rows)} of {len(presets)} presets done, the run in progress or stopped")
                atomic_write_text(RESULTS / f"{name}.md", text(name, header, end, args.minutes, sorted(rows)))
    if not args.quick:
        print(f"wrote {RESULTS / name}.md")


def text(name: str, header: str, end: str, minutes: float, rows: list[str]) -> str:
    return (f"# {name}\n\n{header}; {end}\n\n"
            f"Each preset trained with its own settings on its own dataset, seed 0, for its epochs or as many as "
            f"fit {minutes:g} quiet-equivalent CPU minutes by zoo-speed.md's img/s (at least 1; early stopping "
            f"as the preset has it), then `aekit.evaluate` on the whole test split: SSE is Σ (x - x̂)² per image "
            f"on [0, 1] pixels, beside PCA with as many components as the code (fitted on the training split); "
            f"BCE per pixel and PSNR from the [0, 1] reconstruction; a VAE's ELBO and active units, and its "
            f"importance-sampled NLL (k = {NLL_SAMPLES}) on {NLL_IMAGES:,} test images spread evenly through the "
            f"split; kNN and linear-probe accuracy of the codes (probes fitted on 10,000 training codes). Training "
            f"minutes: CPU time over threads (quality.py's Minutes), and wall.\n\n"
            + "\n".join(["| " + " | ".join(HEAD) + " |", "|" + " --- |" * len(HEAD), *rows]) + "\n")


if __name__ == "__main__":
    main()
