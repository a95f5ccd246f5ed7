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
from aekit.io import load_model
from aekit.training.validation import validation_terms
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


def first_stop(val_losses: list[float], patience: int) -> int:
    """The epoch (1-based) at which early stopping must end a run with these
    validation losses: the first to close `patience` epochs in a row that are
    not better than the best before them (0: never)."""
    best, bad = float("inf"), 0
    for epoch, loss in enumerate(val_losses, 1):
        best, bad = (loss, 0) if loss < best else (best, bad + 1)
        if bad == patience:
            return epoch
    return 0


def test_early_stopping_stops_patience_epochs_after_the_best_and_keeps_its_weights(tmp_path):
    # Adam at lr 0.05 (50x the preset's) plateaus within 15 epochs on the digits.
    # Measured (2-core AMD EPYC, 2026-11-30), seed 0: best epoch 12, stopped at 14, after
    # epoch 11 was not a best (the count of bad epochs restarts); seed 1: best 7, stopped at 9.
    patience, out = 2, tmp_path / "run"
    run = train("dense-ae-32", data="digits-sample", epochs=30, seed=0, out=out,
                sets=[f"train.early_stopping_patience={patience}", "train.lr=0.05"])
    history, losses = run.history, [m["val_loss"] for m in run.history]
    best = min(history, key=lambda m: m["val_loss"])
    # It stopped early, at the first epoch early stopping's rule names, which is
    # `patience` epochs after the best, none of them better than it.
    assert len(history) < 30 and len(history) == first_stop(losses, patience)
    assert len(history) == best["epoch"] + patience
    assert all(m["val_loss"] >= best["val_loss"] and not m["best"] for m in history[best["epoch"]:])
    # Each epoch is marked best exactly when it beats every epoch before it; a
    # non-best epoch before the best one shows the count restarting.
    assert [m["best"] for m in history] == [loss < min(losses[:i], default=float("inf"))
                                            for i, loss in enumerate(losses)]
    assert not all(m["best"] for m in history[:best["epoch"]])

    # best.safetensors holds the best epoch's weights: validated again, they
    # score that epoch's val_loss; model.safetensors holds the last epoch's.
    val, cfg = run.dataset.val.images, run.config.train

    def val_loss(model):
        return validation_terms(model, val, cfg.eval_batch_size, seed=cfg.seed)["val"]["loss"]
    assert json.loads((out / "best.json").read_text())["epoch"] == best["epoch"]
    assert val_loss(load_model(out / "best.safetensors")) == pytest.approx(best["val_loss"], rel=1e-6)
    assert val_loss(load_model(out)) == pytest.approx(history[-1]["val_loss"], rel=1e-6)

    # The stop is part of the checkpoint: resumed, the finished run trains no more...
    assert json.loads((out / "checkpoint" / "last.json").read_text())["stopped_early"]
    again = resume(out)
    assert len(again.history) == len(history) and weights_equal(again.model, run.model)
    # ...unless asked for more epochs, and then patience counts afresh.
    more = resume(out, epochs=len(history) + 5)
    assert len(history) + patience <= len(more.history) <= len(history) + 5


@pytest.mark.parametrize("schedule,expect", [("cosine", lambda lr: lr[-1] < lr[0]),
                                             ("step", lambda lr: lr[1:] == pytest.approx([lr[0] * 0.5, lr[0] * 0.25]))])
def test_schedules_change_the_learning_rate(schedule, expect):
    run = train("dense-ae-32", data="digits-sample", epochs=3, seed=0, save=False,
                      sets=[f"train.schedule={schedule}", "train.step_size=1", "train.gamma=0.5"])
    assert expect([m["lr"] for m in run.history])


# One epoch (18 steps) of dense-ae-32 on the digits, gradients clipped to norm 1. Measured
# val_loss (2-core AMD EPYC, 2026-11-30), seeds 0 / 1: adam and adamw 215.7 / 212.6, rmsprop
# 199.2 / 198.2, sgd at lr 0.5 225.2 / 226.1 (an untrained decoder: 784 ln 2 = 543). Bounds:
# ~4 % above the worse seed. SGD's clipped step is lr x at most 1: at lr 0.01 it barely
# moves in an epoch (542.8 / 541.0), so it runs at 0.5.
@pytest.mark.parametrize("optimizer,lr,bound", [("adam", 0.01, 224.0), ("adamw", 0.01, 224.0),
                                                ("rmsprop", 0.01, 207.0), ("sgd", 0.5, 235.0)])
def test_each_optimizer_trains_with_clipping(optimizer, lr, bound):
    run = train("dense-ae-32", data="digits-sample", epochs=1, seed=0, save=False,
                sets=[f"train.optimizer={optimizer}", "train.grad_clip=1.0", f"train.lr={lr}"])
    assert run.history[0]["val_loss"] < bound


def test_bad_grad_clip_is_a_one_line_error():
    with pytest.raises(AekitError, match="grad_clip"):
        train("dense-ae-32", data="digits-sample", epochs=1, save=False, sets=["train.grad_clip=-1"])
