"""Dead and active code units (aekit.metrics.codes) on real images, and the
run folder's report of them: `val_dead_code_units` (and a VAE's
`val_active_units`) in metrics.jsonl, a one-line warning when a run ends
with dead units."""

from __future__ import annotations

import json

import numpy as np
import torch

from aekit.api import train
from aekit.data import load_dataset
from aekit.metrics import PCA, active_units, dead_code_units, encode_images


def _mnist_test():
    return load_dataset("mnist").test.images[:2000]


def test_dead_units_are_the_constant_ones():
    images = _mnist_test()
    pixels = images.flatten(1).to(torch.float32)
    # As codes, MNIST's pixels: the border pixels are 0 on every image (dead), the rest vary.
    constant = sum(len(np.unique(column)) == 1 for column in pixels.numpy().T)
    assert 0 < constant < 784
    assert dead_code_units(pixels) == constant
    # A ReLU code of non-negative pixels: a unit whose weights are all negative is 0 on every
    # image (dead), one whose weights are all positive is not (every digit has ink).
    gen = torch.Generator().manual_seed(0)
    w = torch.rand(784, 6, generator=gen)
    w[:, :2] *= -1
    assert dead_code_units(torch.relu(pixels / 255 @ w)) == 2


def test_active_units_count_the_directions_of_variance_over_one_hundredth():
    images = _mnist_test()
    z = PCA(20).fit(images).transform(images)
    variances = np.var(z.numpy(), axis=0, ddof=1)
    assert active_units(z) == int((variances > 0.01).sum()) == 20   # MNIST's 20th: about 0.07
    # Shrinking a unit's spread to the prior's scale switches it off: a collapsed unit.
    z[:, 5:] *= 0.05
    assert active_units(z) == int((variances[:5] > 0.01).sum()) == 5


def test_run_folder_reports_dead_code_units_and_warns(tmp_path, capsys):
    # The Keras conv AE with its original ReLU code (the preset's code is ELU): on seed 3 a
    # Glorot-initialised ReLU code starts with units that are 0 on every image (see the preset).
    relu = ["model.bottleneck.activation=relu"]
    run = train("conv-ae-10", data="digits-sample", epochs=1, seed=3, out=tmp_path / "relu", sets=relu)
    metrics = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    dead = dead_code_units(encode_images(run.model, run.dataset.val.images))
    assert metrics[-1]["val_dead_code_units"] == dead > 0
    assert "val_active_units" not in metrics[-1]
    err = capsys.readouterr().err
    assert f"warning: {dead} of 10 code units are dead" in err and len(err.strip().splitlines()) == 1

    vae = train("conv-ae-10", data="digits-sample", epochs=1, seed=3, out=tmp_path / "vae",
                sets=["model.bottleneck={type: gaussian, dim: 8}", "model.regularisers=[{type: kl}]"])
    metrics = json.loads((vae.dir / "metrics.jsonl").read_text().splitlines()[-1])
    means = encode_images(vae.model, vae.dataset.val.images)
    assert metrics["val_dead_code_units"] == 0
    assert metrics["val_active_units"] == active_units(means) > 0
    assert "warning" not in capsys.readouterr().err
