"""Logging and precision: TensorBoard scalars + grid image, bf16 autocast on CPU."""

from __future__ import annotations

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from aekit.api import train
from aekit.errors import AekitError


def test_tensorboard_has_scalars_and_the_reconstruction_grid(tmp_path):
    train("dense-ae-32", data="digits-sample", epochs=2, seed=0, out=tmp_path / "run", tensorboard=True)
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("val_loss")] == [1, 2]
    assert "reconstructions" in events.Tags()["images"]


def test_bf16_autocast_trains_on_cpu_and_fp16_needs_cuda():
    run = train("dense-ae-32", data="digits-sample", epochs=1, seed=0, save=False, precision="bf16",
                device="cpu")
    assert run.history[0]["val_loss"] < 543
    with pytest.raises(AekitError, match="fp16 needs a CUDA GPU"):
        train("dense-ae-32", data="digits-sample", epochs=1, save=False, precision="fp16", device="cpu")
