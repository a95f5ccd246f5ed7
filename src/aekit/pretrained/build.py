"""Rebuild a pretrained model from its recipe: `aekit pretrained build NAME`.

Trains the recipe's preset on its dataset (aekit.train, the recipe's epochs
and seed) in a scratch run folder, measures it on the test split
(aekit.evaluate: reconstruction error beside PCA with as many components as
the code; a VAE's ELBO), and writes OUT/NAME/ (default: the package's own
folder, replacing the shipped model; a build with other epochs or data than
the recipe's must name its own OUT): model.safetensors + model.json,
codes.safetensors and card.json. The folder is staged beside its final place
and swapped in at the end, so an interrupted build leaves the old one whole.

The same recipe on the same kind of CPU (same instruction set and thread
count) gives bit-identical weights: training is seeded, and torch's CPU
kernels are deterministic for a fixed thread count. card.json records the
thread count it was built with.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from aekit.cpu import cpu_name
from aekit.data.checksum import sha256_file
from aekit.errors import AekitError, did_you_mean
from aekit.fs import atomic_write_text, atomic_write_with, make_folder
from aekit.pretrained.recipes import RECIPES, Recipe
from aekit.pretrained.registry import CARD, ROOT

CODES = "codes.safetensors"
REFERENCE_IMAGES = 2_000   # training images whose codes (4 bytes a dimension) and scores are shipped: 176 kB at 20-d


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise AekitError(f"pretrained model {name!r} has no recipe{did_you_mean(name, RECIPES)}; "
                         f"recipes: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]


def build(name: str, out: str | Path | None = None, epochs: int | None = None, data: str | None = None,
          log=print) -> Path:
    """Train model `name` from its recipe and write OUT/NAME/; returns that folder.
    `epochs` and `data` override the recipe (for trials: the card says so)."""
    from aekit.api import train
    from aekit.evaluation.job import evaluate
    from aekit.io import load_model

    r = recipe(name)
    epochs = r.epochs if epochs is None else int(epochs)
    data = r.data if data is None else str(data)
    if out is None and (epochs != r.epochs or data != r.data):
        raise AekitError(f"a build with another --epochs or --data would replace the shipped pretrained:{name}: "
                         f"give --out DIR (out= in Python) to write the trial elsewhere")
    root = Path(out) if out is not None else ROOT
    make_folder(root)
    final = root / name
    _restore_interrupted_swap(final)
    try:
        probe = tempfile.TemporaryDirectory(prefix=f".{name}-", dir=root)
    except OSError as err:
        raise AekitError(f"cannot write into {root} ({err.strerror or err}): give --out DIR, a folder you "
                         f"can write to") from None
    with probe as scratch:   # the scratch run folder and the staged NAME/, beside the final one
        started = time.perf_counter()
        log(f"training {name}: preset {r.preset} on {data}, {epochs} epochs, seed {r.seed}")
        run = train(r.preset, data=data, epochs=epochs, seed=r.seed, device="cpu", out=Path(scratch) / "run")
        minutes = (time.perf_counter() - started) / 60
        log(f"trained in {minutes:.1f} min; measuring on the test split")
        record = evaluate(run.dir, nll_samples=0, probes=False, write=False, device="cpu")
        stage = Path(scratch) / name
        stage.mkdir()
        for file in ("model.safetensors", "model.json"):
            shutil.copyfile(run.dir / file, stage / file)
        # From the saved weights, as a user loads them (the trained module may hold a conv model's
        # weights channels-last, whose kernels round differently).
        _write_codes(load_model(stage / "model.safetensors"), run.dataset.train.images, stage / CODES)
        meta = json.loads((stage / "model.json").read_text(encoding="utf-8"))
        card = {
            "name": name, "summary": r.summary,
            "recipe": {"preset": r.preset, "data": data, "epochs": epochs, "seed": r.seed,
                       "overridden": data != r.data or epochs != r.epochs},
            "trained_epochs": run.history[-1]["epoch"],
            "build": {"minutes": round(minutes, 2), "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "cpu": cpu_name(),
                      "date": time.strftime("%Y-%m-%d", time.gmtime())},
            "test": _test_figures(record),
            "weights_sha256": meta["weights_sha256"],
            "file_sha256": sha256_file(stage / "model.safetensors"),
            "codes": {"file": CODES, "images": REFERENCE_IMAGES, "of": "the training split, evenly spread",
                      "tensors": {"codes": "float32 [n, code]", "scores": "float64 [n], the anomaly scores"}},
        }
        atomic_write_text(stage / CARD, json.dumps(card, indent=2) + "\n")
        _swap_in(stage, final)
    log(f"wrote {final}: weights sha256 {card['weights_sha256']}")
    return final


def _write_codes(model, train_images, path: Path) -> None:
    """`codes` (a VAE's posterior means) and `scores` (`Model.anomaly_score`, float64) of
    REFERENCE_IMAGES training images evenly spread through the split."""
    from aekit.apps.figures import spread
    from aekit.apps.model import Model

    chosen = train_images[spread(len(train_images), REFERENCE_IMAGES)].numpy()
    m = Model(model.to("cpu"))
    tensors = {"codes": torch.from_numpy(m.encode(chosen)).contiguous(),
               "scores": torch.from_numpy(m.anomaly_score(chosen)).contiguous()}
    atomic_write_with(path, lambda tmp: save_file(tensors, tmp))


def _test_figures(record: dict) -> dict:
    """The card's test figures: per-image squared error of the model, of PCA
    at the code's size and (for a VAE) the test ELBO, rounded for reading."""
    rec = record["reconstruction"]
    out = {"split": "test", "images": record["meta"].get("images"),
           "sse_per_image": rec["model"]["sse"], "pca_sse_per_image": rec["pca"]["sse"],
           "bce_per_image": rec["model"]["bce"], "psnr_db": rec["model"]["psnr_db"]}
    if "vae" in record:
        out["elbo_nats"] = record["vae"].get("elbo")
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def _swap_in(stage: Path, final: Path) -> None:
    """Replace `final` with the complete `stage` folder: the old one is moved aside first and
    removed only once the new one is in place."""
    _restore_interrupted_swap(final)
    old = _aside(final)
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(stage, final)
    shutil.rmtree(old, ignore_errors=True)


def _aside(final: Path) -> Path:
    return final.with_name(f".{final.name}.old")


def _restore_interrupted_swap(final: Path) -> None:
    """A build killed between `_swap_in`'s two renames left the model only as .NAME.old: put it back."""
    old = _aside(final)
    if old.is_dir() and not final.exists():
        os.replace(old, final)
