"""Shared helpers of the family tests (this module holds no tests).

`train_briefly` trains a preset, as resolved from its YAML, on a prefix of the
real training split for a few epochs on the CPU, with the one Trainer every
model uses and the preset's own optimiser, lr, batch size and activations: a
test cuts the data or the epochs, never what a user would get. Every family
test runs on the seeds in SEEDS (`@each_seed`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import torch

from aekit.api import build_model, seed_everything
from aekit.data import load_dataset
from aekit.metrics import pca_squared_error, squared_error_per_image
from aekit.models import Autoencoder
from aekit.training.config import RunConfig, resolve_config
from aekit.training.trainer import Trainer

N_EVAL = 2000          # test images for reconstruction / ELBO / MMD figures
# Two fixed seeds in CI, so that a margin is not one seed's luck; AEKIT_TEST_SEED=N adds seed N.
SEEDS = sorted({0, 1} | ({int(os.environ["AEKIT_TEST_SEED"])} if os.environ.get("AEKIT_TEST_SEED") else set()))
each_seed = pytest.mark.parametrize("seed", SEEDS)


class Subset:
    """The first `n` images of a split: all the Trainer reads is `.images` and len()."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)


@functools.lru_cache(maxsize=4)
def dataset(name: str, seed: int = 0):
    return load_dataset(name, val_fraction=0.1, seed=seed)


@dataclass
class Brief:
    config: RunConfig
    model: Autoencoder
    dataset: Any
    history: list[dict]
    before: Any               # what `before(model, dataset)` measured at initialisation
    train_images: torch.Tensor

    @property
    def test_images(self) -> torch.Tensor:
        return self.dataset.test.images[:N_EVAL]

    def squared_error(self) -> float:
        """Sum of squared errors per test image on [0, 1] pixels."""
        return squared_error_per_image(self.model, self.test_images)

    def pca_squared_error(self, k: int | None = None) -> float:
        """The same figure for PCA with as many components as the code, fitted on the same training images."""
        return pca_squared_error(self.train_images, self.test_images, k or self.model.code_dim)


def train_briefly(preset: str, n_train: int, epochs: int, seed: int, sets: list[str] = (), n_val: int = N_EVAL,
                  before: Callable | None = None) -> Brief:
    """`sets`: the structural `--set` overrides of a combination test, or a test-only
    override with its reason beside it; never a preset's hyperparameters."""
    cfg = resolve_config(preset, overrides={"train.epochs": epochs, "train.seed": seed, "train.device": "cpu"},
                         sets=list(sets))
    data = dataset(cfg.data.name, seed)
    seed_everything(seed)
    model = build_model(cfg, data.image_shape)
    measured = before(model, data) if before is not None else None
    train_images = data.train.images[:n_train]
    # Under xdist each worker gets one core's worth of threads (2 workers x 2
    # threads on 2 cores thrashes); restored after, for whatever runs next.
    threads = torch.get_num_threads()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
    try:
        trainer = Trainer(model, Subset(train_images), Subset(data.val.images[:n_val]), cfg.train)
        history = trainer.fit()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return Brief(cfg, model, data, history, measured, train_images)
