"""The `aekit` command end to end, as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import yaml
from PIL import Image

from aekit.io import load_model
from aekit.models.presets import preset_names

AEKIT = [sys.executable, "-m", "aekit"]


def run(args, env=None, cwd=None):
    return subprocess.run(AEKIT + list(args), capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=cwd, timeout=600)


def assert_one_line_error(result, *needles):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_train_fashion_ae_two_epochs_writes_the_full_run_folder(tmp_path):
    out = tmp_path / "run"
    result = run(["train", "--preset", "fashion-ae", "--data", "fashion-mnist", "--epochs", "2", "--out", str(out)])
    assert result.returncode == 0, result.stderr
    assert f"run folder: {out}" in result.stdout
    for name in ["config.yaml", "metrics.jsonl", "model.safetensors", "model.json", "loss.png",
                 "images/epoch_001.png", "images/epoch_002.png"]:
        assert (out / name).is_file(), name
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == [1, 2]
    for m in metrics:
        assert {"epoch", "train_loss", "val_loss", "seconds", "samples_per_s"} <= set(m)
    assert metrics[1]["val_loss"] < metrics[0]["val_loss"]
    # 2 epochs of the tutorial model on Fashion-MNIST: measured 257 nats/image
    # (untrained: 543 = 784 ln 2); the bound leaves room for other machines.
    assert metrics[1]["val_loss"] < 270
    # The grid: 3 pairs of rows (originals above reconstructions) of 10 images,
    # each 28 px shown at 2x with 2 px gaps.
    grid = np.asarray(Image.open(out / "images" / "epoch_002.png"))
    assert grid.shape == (6 * 58 + 2, 10 * 58 + 2)
    # Progress lines go to stderr, one per epoch, when not on a terminal.
    assert result.stderr.count("epoch ") == 2 and "val_loss" in result.stderr
    model = load_model(out)
    assert model.code_dim == 20


def test_main_job_offline_on_the_embedded_sample(tmp_path):
    result = run(["train", "--preset", "dense-ae-32", "--data", "digits-sample", "--epochs", "2", "--seed", "3"],
                 env={"AEKIT_DATA_DIR": str(tmp_path / "empty-cache")}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("dense-ae-32-")
    config = (runs[0] / "config.yaml").read_text()
    assert "digits-sample" in config and "seed: 3" in config


def test_missing_data_path_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    result = run(["train", "--preset", "fashion-ae", "--data", "/no/such/dir", "--out", str(out)])
    assert_one_line_error(result, "/no/such/dir")
    assert not out.exists()


def test_corrupt_dataset_file_is_one_line(tmp_path, shared_data):
    data_dir = tmp_path / "data"
    shutil.copytree(shared_data / "fashion-mnist", data_dir / "fashion-mnist")
    target = data_dir / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    blob = bytearray(target.read_bytes())
    blob[100] ^= 0xFF
    target.write_bytes(bytes(blob))
    out = tmp_path / "run"
    result = run(["train", "--preset", "fashion-ae", "--epochs", "1", "--out", str(out)],
                 env={"AEKIT_DATA_DIR": str(data_dir), "AEKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert_one_line_error(result, "t10k-labels-idx1-ubyte.gz")
    assert not out.exists()


def test_bad_config_key_is_one_line(tmp_path):
    result = run(["train", "--preset", "fashion-ae", "--data", "digits-sample", "--set", "model.encoder.widht=[3]",
                  "--out", str(tmp_path / "r")])
    assert_one_line_error(result, "model.encoder.widht: unknown key")


def test_existing_run_folder_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text("{}\n")
    result = run(["train", "--preset", "dense-ae-32", "--data", "digits-sample", "--epochs", "1", "--out", str(out)])
    assert_one_line_error(result, "already holds a run")
    assert (out / "metrics.jsonl").read_text() == "{}\n"


def test_listing_commands_and_help():
    presets = run(["presets"])
    assert presets.returncode == 0
    lines = presets.stdout.strip().splitlines()
    assert any(line.startswith("fashion-ae ") for line in lines)
    assert all(len(line.split(None, 1)) == 2 for line in lines)
    assert all(len(line) <= 80 for line in lines), "summaries must fit a terminal line"
    assert len(lines) == len(preset_names())
    shown = run(["presets", "conv-ae-10"])
    assert shown.returncode == 0
    assert yaml.safe_load(shown.stdout)["train"]["optimizer"] == "rmsprop"
    assert_one_line_error(run(["presets", "no-such-model"]), "unknown preset")
    datasets = run(["datasets"])
    assert datasets.returncode == 0
    names = [line.split()[0] for line in datasets.stdout.strip().splitlines()]
    assert {"mnist", "fashion-mnist", "binarized-mnist", "digits-sample"} <= set(names)
    for args in (["--help"], ["train", "--help"], ["presets", "--help"], ["datasets", "--help"]):
        result = run(args)
        assert result.returncode == 0 and "Usage:" in result.stdout
    assert "--preset" in run(["train", "--help"]).stdout


def test_resume_with_more_epochs_continues_exactly_and_other_flags_are_refused(tmp_path):
    from safetensors.torch import load_file

    base = ["train", "--preset", "dense-ae-32", "--data", "digits-sample", "--seed", "3"]
    straight, extended = tmp_path / "straight", tmp_path / "extended"
    assert run(base + ["--epochs", "3", "--out", str(straight)]).returncode == 0
    assert run(base + ["--epochs", "2", "--out", str(extended)]).returncode == 0
    assert_one_line_error(run(["train", "--resume", str(extended), "--lr", "0.1"]),
                          "--lr cannot be changed when resuming")
    result = run(["train", "--resume", str(extended), "--epochs", "3"])
    assert result.returncode == 0, result.stderr
    a, b = load_file(straight / "model.safetensors"), load_file(extended / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    epochs = [json.loads(line)["epoch"] for line in (extended / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    assert yaml.safe_load((extended / "config.yaml").read_text())["train"]["epochs"] == 3


def test_usage_errors_are_one_line_naming_the_help(tmp_path):
    # click's own form is three lines (usage, hint, error): aekit's is one, exit status 2.
    for args, needle in ((["train", "--epochs", "0"], "'--epochs'"), (["train", "--lr", "-1"], "'--lr'"),
                         (["trian"], "Did you mean 'train'?"), (["train", "--no-such-flag"], "--no-such-flag"),
                         (["evaluate"], "Missing argument")):
        result = run([*args, "--out", str(tmp_path / "x")] if args[0] == "train" else args)
        assert_one_line_error(result, needle, "--help')")
        assert not (tmp_path / "x").exists()
    assert run(["--version"]).returncode == 0
