"""Shared set-up of the apps tests (this module holds no tests): small real
runs, trained once per test process and kept in a temporary folder.

The data is real MNIST (the offline digits-sample set): a fixed random
subset of its training and test splits saved as a Keras-layout .npz, so that
each run trains on `N_TRAIN` images (less 10% validation) for a few
epochs. A run is an ordinary run folder written by `aekit.train`; the jobs
find its data again through its config.yaml, as they would a user's.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np

N_TRAIN = 1500
N_TEST = 300
_ROOT = Path(tempfile.mkdtemp(prefix="aekit-apps-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

# What each test run trains: the preset's own model, optimiser and lr; only
# the length changes, and the batch size where the preset's would leave a
# handful of steps on 1,350 images (fashion-ae's 512: 3 steps an epoch).
# Measured (2026-11-30, 2-core AMD EPYC Zen 4, shared; OMP_NUM_THREADS=1) on
# 200 held-out digits: fashion-ae 8 epochs at batch 32, 11 s: every
# reconstruction nearer its own input than the others on average (SSE 32.6
# against 72.2), 32% nearest of all 200; vae-kingma 10 epochs, 6 s: 30.4
# against 71.2, 34%; the aae (2-d code) 10 epochs, 10 s: 51.0 against 53.3.
RUNS = {   # name: (preset, epochs, --set overrides)
    "fashion-ae": ("fashion-ae", 8, ["train.batch_size=32"]),
    "vae-kingma": ("vae-kingma", 10, []),
    "aae": ("aae", 10, []),
    "conv-ae-10": ("conv-ae-10", 2, []),
    # the digits as RGB (grey repeated in 3 channels): a 3-channel model for the layout rules
    "fashion-ae-rgb": ("fashion-ae", 2, ["train.batch_size=64", "data.channels=3"]),
}


@functools.lru_cache(maxsize=None)
def digits_npz(n_train: int = N_TRAIN, n_test: int = N_TEST) -> Path:
    """A .npz of `n_train` training and `n_test` test images of digits-sample, drawn at random (seed 0)."""
    from aekit.data import load_dataset

    data = load_dataset("digits-sample", val_fraction=0.0)
    rng = np.random.default_rng(0)
    train = rng.permutation(len(data.train))[:n_train]
    test = rng.permutation(len(data.test))[:n_test]
    path = _ROOT / f"digits-{n_train}-{n_test}.npz"
    np.savez(path, x_train=data.train.images[train, 0].numpy(), y_train=data.train.labels[train].numpy(),
             x_test=data.test.images[test, 0].numpy(), y_test=data.test.labels[test].numpy())
    return path


def trained_run(name: str) -> Path:
    """The run folder of RUNS[name] trained briefly on `digits_npz()` (seed 0, CPU)."""
    return trained(name).dir


@functools.lru_cache(maxsize=None)
def trained(name: str):
    """The `aekit.Run` that `aekit.train` returned for `trained_run(name)`."""
    import aekit

    preset, epochs, sets = RUNS[name]
    n_train = 500 if preset.startswith("conv") else N_TRAIN   # conv steps cost ~10x an MLP's here
    out = _ROOT / name
    return aekit.train(preset, data=str(digits_npz(n_train)), epochs=epochs, seed=0, device="cpu", out=out,
                       sets=sets)


def held_out_images(n_train: int = N_TRAIN) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [N, 28, 28], labels) of the test part of `digits_npz`."""
    with np.load(digits_npz(n_train)) as archive:
        return archive["x_test"], archive["y_test"]
