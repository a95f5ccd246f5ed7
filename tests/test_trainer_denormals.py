"""Denormal flushing is part of a run: on while training and validating
(unless train.flush_denormal is false), undone after, and kept on resume
from the checkpoint whatever the config says (it changes rounding)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from aekit.api import resume, train
from aekit.cpu import flushing_denormal
from aekit.training.callbacks import Callback

# Large enough that torch splits the product over its threads.
TINY = torch.full((1_000_000,), 1e-30)


def flushed_everywhere() -> bool:
    """A product below fp32's smallest normal is 0 on every thread that computed it."""
    return bool((TINY * 1e-10 == 0).all())


class Record(Callback):
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, trainer, metrics) -> None:
        self.seen.append((flushing_denormal(), flushed_everywhere()))


@pytest.mark.parametrize("flush", [True, False])
def test_flush_during_training_only(flush):
    assert not flushing_denormal()
    record = Record()
    train("dense-ae-32", data="digits-sample", epochs=2, save=False, callbacks=[record],
          sets=[f"train.flush_denormal={str(flush).lower()}"])
    assert record.seen == [(flush, flush)] * 2
    assert not flushing_denormal() and not flushed_everywhere()   # undone after the run


def test_resume_keeps_the_checkpoints_setting(tmp_path):
    run = tmp_path / "run"
    train("dense-ae-32", data="digits-sample", epochs=1, out=run, sets=["train.flush_denormal=false"])
    meta = json.loads((run / "checkpoint" / "last.json").read_text())
    assert meta["flush_denormal"] is False
    # train.bounded_malloc resolved off (in memory, null), recorded beside it (mapped: tests/test_memmap_bounded.py).
    assert meta["bounded_malloc"] == {"on": False, "mallopt": False}
    # The config now says otherwise (as a checkpoint from before the key would):
    # the checkpoint wins, so the run goes on with the rounding it had.
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["train"]["flush_denormal"] = True
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    record = Record()
    resume(run, callbacks=[record], epochs=2)
    assert record.seen == [(False, False)]
