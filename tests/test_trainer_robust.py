"""The trainer's guarantees on real data: same seed same bits, divergence
stops the run cleanly, early stopping, schedules, clipping, best model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from aekit.api import resume, train
from aekit.errors import AekitError
from helpers import weights_equal


def test_same_seed_is_bitwise_identical_weights_and_metrics():
    kw = dict(data="digits-sample", epochs=2, seed=5, save=False, batch_size=256)
    a, b = train("vae-kingma", **kw), train("vae-kingma", **kw)
    assert weights_equal(a.model, b.model)
    strip = lambda h: [{k: v for k, v in m.items() if k not in ("seconds", "samples_per_s")} for m in h]
    assert strip(a.history) == strip(b.history)


def test_absurd_lr_stops_with_one_line_naming_epoch_and_step_and_keeps_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "aekit", "train", "--preset", "fashion-ae", "--data", "digits-sample",
         "--epochs", "3", "--lr", "1e12", "--checkpoint-every", "2", "--set", "train.nan_check_every=3",
         "--out", str(run)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "NaN or Inf" in lines[0], proc.stderr
    assert "epoch 1, step" in lines[0]
    step = int(lines[0].split("step ")[1].split(";")[0])
    meta = json.loads((run / "checkpoint" / "last.json").read_text())
    assert meta["step"] < step           # the checkpoint predates the divergence
    tensors = load_file(str(run / "checkpoint" / meta["tensors"]))
    assert all(torch.isfinite(t).all() for k, t in tensors.items() if k.startswith("model."))


def test_early_stopping_and_best_model(tmp_path):
    # A learning rate this low cannot improve val_loss... so patience 1 stops
    # as soon as one epoch is not better than the best so far.
    run = train("dense-ae-32", data="digits-sample", epochs=30, seed=0, out=tmp_path / "run",
                      sets=["train.early_stopping_patience=1", "train.lr=0.05", "train.optimizer=sgd"])
    assert len(run.history) < 30
    best = min(run.history, key=lambda m: m["val_loss"])
    assert run.history[-1]["val_loss"] >= best["val_loss"]
    assert json.loads((tmp_path / "run" / "best.json").read_text())["epoch"] == best["epoch"]

    # The stop is part of the checkpoint: resumed, the finished run trains no more...
    again = resume(tmp_path / "run")
    assert len(again.history) == len(run.history) and weights_equal(again.model, run.model)
    # ...unless asked for more epochs, and then patience counts afresh.
    more = resume(tmp_path / "run", epochs=len(run.history) + 5)
    assert len(run.history) < len(more.history) <= len(run.history) + 5


@pytest.mark.parametrize("schedule,expect", [("cosine", lambda lr: lr[-1] < lr[0]),
                                             ("step", lambda lr: lr[1:] == pytest.approx([lr[0] * 0.5, lr[0] * 0.25]))])
def test_schedules_change_the_learning_rate(schedule, expect):
    run = train("dense-ae-32", data="digits-sample", epochs=3, seed=0, save=False,
                      sets=[f"train.schedule={schedule}", "train.step_size=1", "train.gamma=0.5"])
    assert expect([m["lr"] for m in run.history])


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop", "sgd"])
def test_each_optimizer_trains_with_clipping(optimizer):
    run = train("dense-ae-32", data="digits-sample", epochs=1, seed=0, save=False,
                      sets=[f"train.optimizer={optimizer}", "train.grad_clip=1.0", "train.lr=0.01"])
    assert run.history[0]["val_loss"] < 543   # below an untrained decoder's 784 ln 2


def test_bad_grad_clip_is_a_one_line_error():
    with pytest.raises(AekitError, match="grad_clip"):
        train("dense-ae-32", data="digits-sample", epochs=1, save=False, sets=["train.grad_clip=-1"])
