"""`aekit.evaluate` on every preset's run folder (issue #11: "works on every
preset's run folder, the fields that apply, others absent rather than zero").
Each preset trains one epoch, with its own settings, on 300 real digits (the
first of digits-sample's training split, as an .npy: no labels, so no probes),
and its folder is evaluated on the 30 images of its test split."""

from __future__ import annotations

import math

import numpy as np
import pytest

import aekit
from aekit.data import load_dataset
from aekit.evaluation import evaluate
from aekit.evaluation.vae import nll_applies
from aekit.models.presets import preset_names
from aekit.training.config import resolve_config


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "digits-300.npy"
    np.save(path, load_dataset("digits-sample").train.images[:300].numpy())
    return path


def _numbers(value, where="record"):
    """Every leaf of the record, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{where}[{i}]")
    else:
        yield where, value


@pytest.mark.parametrize("preset", preset_names())
def test_evaluate_works_on_every_presets_run_folder(preset, digits, tmp_path):
    config = resolve_config(preset)
    vae = type(config.model.bottleneck).TYPE == "gaussian"
    run = aekit.train(preset, data=str(digits), epochs=1, seed=0, device="cpu", out=tmp_path / preset,
                      sets=["train.grid_every=0"])
    nll = nll_applies(run.model)   # a likelihood in nats (not vae-mlp's squared error)
    record = evaluate(run, nll_samples=5 if nll else None)
    assert (tmp_path / preset / "evaluation.json").is_file()
    assert record["meta"]["images"] == 30 and record["meta"]["dataset"].endswith("digits-300.npy")

    # The sections that apply, and no others (absent, not zero).
    assert ("vae" in record) == vae, sorted(record)
    if vae:
        assert record["vae"]["latent_dim"] == config.model.bottleneck.dim
        assert record["vae"].get("nll_samples") == (5 if nll else None), record["vae"]
    assert ("denoising" in record) == (type(config.model.corruption).TYPE != "none"), sorted(record)
    assert "code_quality" not in record and "anomaly" not in record     # no labels, no class asked for
    model = record["reconstruction"]["model"]
    assert model["sse"] > 0 and 0 < model["mse_per_pixel"] < 1 and model["psnr_db"] > 0

    # Every figure a plain finite number (None, NaN or a tensor would be a bug).
    for where, value in _numbers(record):
        if isinstance(value, (bool, str)):
            continue
        assert isinstance(value, (int, float)) and math.isfinite(value), (where, value)
