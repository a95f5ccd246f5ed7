"""`aekit.evaluate` and `aekit evaluate` on tiny real runs (digits-sample, one
or two epochs): which sections each kind of model gets, every figure against
an independent computation, the same numbers twice, the command's table,
file and JSON, and one-line errors for bad input."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import aekit
from aekit.cli.main import cli
from aekit.data import Dataset, Split
from aekit.errors import AekitError
from aekit.evaluation import evaluate, format_table
from aekit.evaluation.data import spread
from aekit.io import load_model
from aekit.metrics import PCA, active_units, elbo, encode_images, pca_squared_error, psnr, reconstruct
from aekit.metrics.anomaly import anomaly_report, roc_auc
from aekit.metrics.nll import importance_sampled_nll
from aekit.metrics.probes import code_quality

LIMIT = 600   # test images evaluated: two chunks (500 + 100), so chunking is exercised


def _train(root, preset: str, epochs: int, sets=()):
    return aekit.train(preset, data="digits-sample", epochs=epochs, seed=0, device="cpu", out=root / preset,
                       sets=["train.grid_every=0", *sets])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run per kind of model: a deterministic AE, a VAE, a denoiser."""
    root = tmp_path_factory.mktemp("runs")
    return {"ae": _train(root, "fashion-ae", 2), "vae": _train(root, "vae-kingma", 1), "dae": _train(root, "dae", 3)}


@pytest.fixture(scope="module")
def records(runs):
    """Each run evaluated once, written to its folder (NLL and probes off: each
    has a test of its own, on budgets of their own)."""
    return {kind: evaluate(run.dir, limit=LIMIT, nll_samples=0 if kind == "vae" else None, probes=False)
            for kind, run in runs.items()}


def _test_images(run) -> torch.Tensor:
    test = run.dataset.test
    return test.images[torch.linspace(0, len(test) - 1, LIMIT).round().long()]


def test_evaluate_is_the_function_even_after_the_packages_are_imported():
    import aekit.evaluation  # noqa: F401
    import aekit.metrics  # noqa: F401

    assert callable(aekit.evaluate) and aekit.evaluate is evaluate
    assert "evaluate" in aekit.__all__


def test_sections_present_where_the_model_allows_and_absent_elsewhere(records):
    ae, vae, dae = records["ae"], records["vae"], records["dae"]
    assert "vae" not in ae and "denoising" not in ae
    assert "vae" in vae and "denoising" not in vae
    assert "denoising" in dae and "vae" not in dae
    for record in records.values():
        assert set(record["reconstruction"]) == {"model", "pca", "ratio", "psnr_gain_db", "bce_eps"}
        assert "code_quality" not in record and "anomaly" not in record   # not asked for
        assert record["meta"]["probes"] is False
    assert "nll" not in vae["vae"] and "nll_samples" not in vae["vae"]   # asked for none: absent, not zero
    assert len(vae["vae"]["kl_per_dim"]) == vae["vae"]["latent_dim"] == 20
    assert [g["sigma"] for g in dae["denoising"]["gaussian"]] == [0.1, 0.3, 0.5]
    meta = vae["meta"]
    assert (meta["dataset"], meta["split"], meta["images"]) == ("digits-sample", "test", LIMIT)
    assert meta["image_shape"] == [1, 28, 28]
    assert (meta["weights"], meta["source"], meta["seed"], meta["epoch"]) == ("model", "run", 0, 1)
    assert meta["model"]["preset"] == "vae-kingma" and meta["aekit_version"] == aekit.__version__
    assert dae["meta"]["model"]["corruption"] == "gaussian" and "corruption" not in ae["meta"]["model"]


def test_reconstruction_figures_equal_a_direct_computation(runs, records):
    for kind in ("ae", "vae"):
        run, rec = runs[kind], records[kind]["reconstruction"]
        images = _test_images(run)
        x = images.flatten(1).numpy().astype(np.float64) / 255
        r = reconstruct(run.model, images).flatten(1).numpy().astype(np.float64)   # the model's own reconstructions
        sse = ((x - r) ** 2).sum(1).mean()
        rc = np.clip(r, 1e-7, 1 - 1e-7)
        bce = -(x * np.log(rc) + (1 - x) * np.log(1 - rc)).sum(1).mean()
        psnr_db = (10 * np.log10(1 / (((x - r) ** 2).mean(1) + 1e-10))).mean()
        assert rec["model"]["sse"] == pytest.approx(sse, rel=1e-6)
        assert rec["model"]["bce"] == pytest.approx(bce, rel=1e-6)
        assert rec["model"]["mse_per_pixel"] == pytest.approx(sse / 784, rel=1e-6)
        assert rec["model"]["bce_per_pixel"] == pytest.approx(bce / 784, rel=1e-6)
        assert rec["model"]["psnr_db"] == pytest.approx(psnr_db, rel=1e-6)
        # PCA with the code's size, fitted on the run's training split (as aekit.metrics computes it).
        k = run.model.code_dim
        assert rec["pca"]["components"] == k
        assert rec["pca"]["sse"] == pytest.approx(pca_squared_error(run.dataset.train.images, images, k), rel=1e-9)
        pca_recon = PCA(k).fit(run.dataset.train.images).reconstruct(images)
        assert rec["pca"]["psnr_db"] == pytest.approx(psnr(images.to(torch.float64) / 255, pca_recon), rel=1e-9)
        assert rec["ratio"]["sse"] == pytest.approx(rec["model"]["sse"] / rec["pca"]["sse"])
        # Sane magnitudes for digits (measured: AE SSE ~37, VAE ~55 after 1-2 short epochs; PCA-20 ~17):
        # bounded by an all-grey guess (~0.25 * 784 = 196) and above zero.
        assert 0 < rec["model"]["sse"] < 120 and 5 < rec["pca"]["sse"] < 40


def test_vae_section_agrees_with_the_metrics_module(runs, records):
    run, v = runs["vae"], records["vae"]["vae"]
    images = _test_images(run)
    ref = elbo(run.model, images)   # one stream over all images, not per chunk: the same in expectation
    # The KL is in closed form (no sampling): equal. The reconstruction part is sampled: within
    # 1 % (measured 0.02 to 0.17 % apart, against metrics.elbo with seeds 0, 1, 2, on 600 digits).
    assert v["kl"] == pytest.approx(ref["kl"], rel=1e-5)
    assert v["recon"] == pytest.approx(ref["recon"], rel=1e-2)
    assert v["elbo"] == pytest.approx(-(v["recon"] + v["kl"]))
    assert sum(v["kl_per_dim"]) == pytest.approx(v["kl"], rel=1e-5)
    assert all(d >= 0 for d in v["kl_per_dim"])
    assert v["active_units"] == active_units(encode_images(run.model, images))


def test_vae_nll_is_the_importance_sampled_estimate_and_scores_anomalies(runs, records):
    run = runs["vae"]
    record = evaluate(run.dir, limit=LIMIT, nll_samples=20, anomaly_class="1", probes=False, write=False)
    v = record["vae"]
    assert v["nll_samples"] == 20
    for key in ("elbo", "recon", "kl"):   # the NLL draws from streams of its own
        assert v[key] == records["vae"]["vae"][key]
    # Against one call of the metric on all the images (other draws, the same estimator): measured
    # at most 0.08 % apart on seeds 0-2 (k = 20, 600 digits), so 0.5 %; and below -ELBO, as a
    # tighter bound is (measured gap 8.2 nats after one epoch): at least 1 nat, at most 30.
    images = _test_images(run)
    direct = importance_sampled_nll(run.model, images, 20, seed=0)
    assert v["nll"] == pytest.approx(direct.mean().item(), rel=5e-3)
    assert 1.0 < -v["elbo"] - v["nll"] < 30.0
    # The anomaly section: its reconstruction part is aekit.metrics.anomaly's, its NLL part scores
    # the VAE section's own per-image NLLs (not estimated twice).
    a = record["anomaly"]
    split = spread(run.dataset.test, LIMIT)
    assert record["meta"]["anomaly_class"] == 1 and "normal_class" not in record["meta"]
    assert a["reconstruction"] == anomaly_report(run.model, split, 1)["reconstruction"]
    assert a["nll"]["samples"] == 20
    assert a["nll"]["roc_auc"] == pytest.approx(roc_auc(direct, split.labels == 1), abs=0.02)   # measured <= 0.002
    assert a["anomalous_images"] == int((split.labels == 1).sum()) and "normal_class" not in a


def test_a_one_class_run_is_scored_as_one_class_by_default(tmp_path):
    run = aekit.train("fashion-ae", data="digits-sample", epochs=5, seed=0, device="cpu", out=tmp_path / "zeros",
                      only_classes=[0], sets=["train.grid_every=0"])
    record = evaluate(run.dir, limit=LIMIT, probes=False)
    assert record["meta"]["only_classes"] == [0] and record["meta"]["normal_class"] == 0
    a = record["anomaly"]
    direct = anomaly_report(run.model, spread(run.dataset.test, LIMIT), normal_class=0)
    assert a == {key: value for key, value in direct.items() if value is not None}
    # Trained on the 360 zeros of the sample for 5 steps: measured ROC-AUC 0.93 (zeros normal).
    assert a["reconstruction"]["roc_auc"] > 0.8
    assert "anomaly" in format_table(record) and "ROC-AUC, reconstruction error" in format_table(record)


def test_denoiser_output_is_cleaner_than_its_noisy_input(records):
    d = records["dae"]["denoising"]
    # sigma 0.5 on [0, 1] digits: the noisy input's PSNR is 9.4 dB; after 3 epochs on that noise
    # (24 steps) the denoiser outputs 11.2 dB (5 epochs: 11.75; measured on seeds 0 and 1 of the noise).
    assert d["own"]["psnr_output_db"] > d["own"]["psnr_input_db"] + 1.0
    inputs = [g["psnr_input_db"] for g in d["gaussian"]]
    assert inputs == sorted(inputs, reverse=True)   # more noise, lower PSNR
    assert d["gaussian"][2]["psnr_input_db"] == pytest.approx(d["own"]["psnr_input_db"], abs=0.2)   # the same noise


def test_same_call_same_numbers_and_the_callers_random_state_is_untouched(runs, records):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    again = evaluate(runs["dae"].dir, limit=LIMIT, write=False, probes=False)
    assert torch.equal(torch.get_rng_state(), before)
    first = records["dae"]
    for key in ("reconstruction", "denoising"):
        assert again[key] == first[key]
    other = evaluate(runs["dae"].dir, limit=LIMIT, write=False, seed=1, probes=False)
    assert other["denoising"] != first["denoising"]   # the seed does fix the noise
    assert other["reconstruction"] == first["reconstruction"]   # and nothing else draws any


def test_run_folder_record_is_written_and_model_file_and_instance_give_the_same(runs, records):
    run = runs["ae"]
    on_disk = json.loads((run.dir / "evaluation.json").read_text())
    assert on_disk == records["ae"]
    as_file = evaluate(run.dir / "model.safetensors", data=run.dataset, limit=LIMIT, probes=False)
    assert as_file["reconstruction"] == records["ae"]["reconstruction"]
    assert as_file["meta"]["source"] == "file" and as_file["meta"]["weights"] == "model.safetensors"
    as_instance = evaluate(load_model(run.dir), data=run.dataset, limit=LIMIT, probes=False)
    assert as_instance["reconstruction"] == records["ae"]["reconstruction"]
    best = evaluate(run.dir, weights="best", limit=LIMIT, write=False, probes=False)
    assert best["meta"]["weights"] == "best"
    as_run = evaluate(run, limit=LIMIT, write=False, probes=False)   # the Run that aekit.train returned
    assert as_run["reconstruction"] == records["ae"]["reconstruction"] and as_run["meta"]["source"] == "run"
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                               str(run.dir / "run.lock")], stdout=subprocess.PIPE, text=True)
    try:   # a Run written into takes its folder's lock, as the folder's path does
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AekitError, match="in use by another aekit process"):
            evaluate(run, limit=LIMIT, probes=False)
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(AekitError, match="saved no run folder"):   # trained with save=False
        evaluate(dataclasses.replace(run, dir=None), limit=LIMIT, write=False, probes=False)


def test_cli_prints_the_table_writes_the_file_and_json(runs):
    run = runs["ae"]
    target = run.dir / "evaluation.json"
    target.unlink(missing_ok=True)   # written by the `records` fixture when the whole module runs
    result = CliRunner().invoke(cli, ["evaluate", str(run.dir), "--limit", str(LIMIT), "--no-probes"])
    assert result.exit_code == 0, result.output
    record = json.loads(target.read_text())
    assert result.stdout == format_table(record)
    for needle in ("fashion-ae (weights: model, epoch 2) on digits-sample test", "PCA-20", "model/PCA",
                   "squared error / image", f"{record['reconstruction']['model']['sse']:.4f}"):
        assert needle in result.stdout
    as_json = CliRunner().invoke(cli, ["evaluate", str(run.dir), "--limit", str(LIMIT), "--no-probes", "--json"])
    assert as_json.exit_code == 0, as_json.output
    printed = json.loads(as_json.stdout)
    assert printed["reconstruction"] == record["reconstruction"]


def _one_line_error(args, *needles):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aekit: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_input_is_one_line(runs, tmp_path):
    run = runs["ae"]
    _one_line_error(["evaluate", str(tmp_path)], "not a run folder")
    _one_line_error(["evaluate", str(tmp_path / "nothing")], "does not exist")
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(run.dir / "config.yaml", half / "config.yaml")
    _one_line_error(["evaluate", str(half)], "model.safetensors not found")
    for name in ("model.safetensors", "model.json"):
        shutil.copy(run.dir / name, half / name)
    _one_line_error(["evaluate", str(half), "--weights", "best"], "best.safetensors not found", "drop --best / --weights best")
    _one_line_error(["evaluate", str(run.dir / "model.safetensors")], "give data")
    _one_line_error(["evaluate", str(run.dir), "--nll-samples", "10"], "not a VAE")
    _one_line_error(["evaluate", str(run.dir), "--anomaly-class", "12"], "no such class", "9=9")
    _one_line_error(["evaluate", str(run.dir), "--anomaly-class", "1", "--normal-class", "2"], "not both")
    _one_line_error(["evaluate", str(run.dir / "model.safetensors"), "--weights", "best", "--data", "digits-sample"],
                    "run folder")
    assert not (half / "evaluation.json").exists()


def test_bad_data_is_refused_before_any_work(runs):
    run = runs["ae"]
    d = run.dataset
    no_val = Dataset(d.name, d.train, Split(d.val.images[:0].contiguous(), d.val.labels[:0]), d.test, d.classes)
    with pytest.raises(AekitError, match="val split of digits-sample holds no images"):
        evaluate(run.model, data=no_val, split="val")
    with pytest.raises(AekitError, match="does not exist"):
        evaluate(run.model, data=d, split="validation")
    cropped = Dataset(d.name, *(Split(s.images[:, :, 4:24, 4:24].contiguous(), s.labels)
                                for s in (d.train, d.val, d.test)))
    with pytest.raises(AekitError, match=r"shape \[1, 20, 20\] but the model expects \[1, 28, 28\]"):
        evaluate(run.model, data=cropped)
    figures = evaluate(run.model, data=d, limit=50, probes=False)["reconstruction"]["model"]
    assert all(math.isfinite(v) for v in figures.values())


def test_code_quality_where_labels_exist_and_absent_where_not(runs):
    """On 500 real training digits (the probes' pixel logistic regression
    dominates the time: 4x longer with 1,000) and 300 test digits."""
    run, d = runs["ae"], runs["ae"].dataset
    small = Dataset(d.name, spread(d.train, 500), d.val, d.test, d.classes)   # spread: the sample is sorted by label
    record = evaluate(run.model, data=small, limit=300)
    q = record["code_quality"]
    assert q == code_quality(run.model, small.train, spread(d.test, 300), seed=0)
    assert set(q) >= {"model", "pca", "pixels"} and q["code_dim"] == 20
    # Ten classes, chance ~0.1. Measured: PCA-20 and pixels 0.86-0.91 (kNN, linear probe); an
    # AE's codes after 8-16 steps 0.37-0.65: far above chance, below its baselines.
    for rep, low in (("model", 0.2), ("pca", 0.75), ("pixels", 0.75)):
        assert low < q[rep]["knn_accuracy"] <= 1.0 and low < q[rep]["linear_probe_accuracy"] <= 1.0
    unlabelled = Dataset(d.name, *(Split(s.images) for s in (small.train, d.val, d.test)))
    assert "code_quality" not in evaluate(run.model, data=unlabelled, limit=300)
