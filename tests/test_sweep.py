"""`aekit sweep`: one run per value in one parent folder, a table and a plot,
resumable without retraining, and figures equal to a direct computation."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

import aekit
from aekit.data import load_dataset
from aekit.errors import AekitError
from aekit.io import load_model
from aekit.metrics import elbo, pca_squared_error, squared_error_per_image
from aekit.sweeps import parse_sweep_sets, run_name, split_values

AEKIT = [sys.executable, "-m", "aekit"]
# Test-only: a small batch so that one epoch of 4,000 digits takes enough steps to move.
FIXED = ["train.batch_size=64"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def stamps(run):
    return {name: (run / name).stat().st_mtime_ns for name in ("metrics.jsonl", "model.safetensors", "config.yaml")}


def test_sweep_writes_table_and_plot_equal_to_direct_figures_and_resumes_without_retraining(tmp_path):
    parent = tmp_path / "study"
    result = aekit.sweep("dense-ae-32", sets=["model.bottleneck.dim=2,6", *FIXED], data="digits-sample", epochs=1,
                         device="cpu", out=parent)
    assert result.key == "model.bottleneck.dim" and result.trained == [str(parent / "dim-2"), str(parent / "dim-6")]
    rows = read_csv(parent / "sweep.csv")
    assert [r["value"] for r in rows] == ["2", "6"] and [r["run"] for r in rows] == ["dim-2", "dim-6"]
    data = load_dataset("digits-sample", seed=0)
    for row in rows:
        run = parent / row["run"]
        model = load_model(run)
        assert model.code_dim == int(row["value"]) == int(row["code_dim"])
        assert int(row["epochs"]) == 1 and int(row["test_images"]) == len(data.test) == 1000
        # The table's figures, computed again with aekit.metrics directly.
        sse = squared_error_per_image(model, data.test.images)
        pca = pca_squared_error(data.train.images, data.test.images, model.code_dim)
        assert float(row["test_sse"]) == pytest.approx(sse, rel=1e-5)
        assert float(row["pca_sse"]) == pytest.approx(pca, rel=1e-9)
        assert float(row["ratio_to_pca"]) == pytest.approx(sse / pca, rel=1e-5)
        assert row["elbo"] == ""                                     # not a VAE: the column is empty
        assert (run / "evaluation.json").is_file()
    # PCA-6 reconstructs better than PCA-2, on the same images.
    assert float(rows[1]["pca_sse"]) < float(rows[0]["pca_sse"])
    table = (parent / "sweep.md").read_text()
    assert "| model.bottleneck.dim |" in table and "| 2 | dim-2 | 1 |" in table and "| 6 | dim-6 | 1 |" in table
    assert f"{float(rows[0]['test_sse']):.2f}" in table
    assert Image.open(parent / "sweep.png").size == (600, 400)
    assert not list(parent.glob(".*"))                              # atomic writes left no temporary file

    # Run again: both values are finished, nothing is retrained, the outputs are rewritten the same.
    before = {r["run"]: stamps(parent / r["run"]) for r in rows}
    again = aekit.sweep("dense-ae-32", sets=["model.bottleneck.dim=2,6", *FIXED], data="digits-sample", epochs=1,
                        device="cpu", out=parent)
    assert again.trained == []
    assert {r["run"]: stamps(parent / r["run"]) for r in rows} == before
    assert read_csv(parent / "sweep.csv") == rows

    # Interrupted or extended: with more epochs each run resumes from its checkpoint.
    longer = aekit.sweep("dense-ae-32", sets=["model.bottleneck.dim=2,6", *FIXED], data="digits-sample", epochs=2,
                         device="cpu", out=parent)
    assert len(longer.trained) == 2
    history = [json.loads(line) for line in (parent / "dim-2" / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in history] == [1, 2]
    assert [r["epochs"] for r in read_csv(parent / "sweep.csv")] == ["2", "2"]

    # A folder holding a run of another config is not silently reused.
    with pytest.raises(AekitError, match="another config"):
        aekit.sweep("dense-ae-32", sets=["model.bottleneck.dim=2,6", "train.batch_size=32"], data="digits-sample",
                    epochs=2, device="cpu", out=parent)


def test_sweep_cli_of_a_vae_reports_its_elbo(tmp_path):
    parent = tmp_path / "vae"
    result = subprocess.run(AEKIT + ["sweep", "--preset", "vae-mlp", "--data", "digits-sample", "--epochs", "1",
                                     "--set", "model.bottleneck.dim=2,4", "--device", "cpu", "--out", str(parent)],
                            capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr
    assert str(parent / "sweep.md") in result.stdout
    rows = read_csv(parent / "sweep.csv")
    data = load_dataset("digits-sample", seed=0)
    for row in rows:
        model = load_model(parent / row["run"])
        direct = elbo(model, data.test.images, seed=0)
        # The KL is analytic: equal. The reconstruction term samples one code per
        # image (with evaluate's own seeds per chunk), so it agrees to sampling noise.
        assert float(row["elbo_kl"]) == pytest.approx(direct["kl"], rel=1e-5)
        assert float(row["elbo_recon"]) == pytest.approx(direct["recon"], rel=0.02)
        assert float(row["elbo"]) == pytest.approx(-(float(row["elbo_recon"]) + float(row["elbo_kl"])), rel=1e-9)
    assert "test ELBO" in (parent / "sweep.md").read_text()


def test_sweep_needs_exactly_one_comma_list():
    key, values, fixed = parse_sweep_sets(["model.encoder.widths=[512,256]", "bottleneck.dim=2, 5,10"])
    assert (key, values, fixed) == ("bottleneck.dim", ["2", "5", "10"], ["model.encoder.widths=[512,256]"])
    assert split_values("[1,2],[3,4]") == ["[1,2]", "[3,4]"]
    assert run_name("model.encoder.widths", "[512,256]") == "widths-_512_256_"
    with pytest.raises(AekitError, match="exactly one"):
        parse_sweep_sets(["model.bottleneck.dim=2"])
    with pytest.raises(AekitError, match="exactly one"):
        parse_sweep_sets(["model.bottleneck.dim=2,3", "train.lr=1e-3,1e-4"])
    with pytest.raises(AekitError, match="distinct"):
        parse_sweep_sets(["model.bottleneck.dim=2,2"])
    with pytest.raises(AekitError, match="key=value"):
        parse_sweep_sets(["model.bottleneck.dim"])


def test_a_bad_value_fails_before_any_run_trains(tmp_path):
    with pytest.raises(AekitError, match="model.bottleneck"):
        aekit.sweep("dense-ae-32", sets=["model.bottleneck.dim=2,abc"], data="digits-sample", epochs=1,
                    device="cpu", out=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
