"""Logging and precision: TensorBoard scalars + grid image, the rich progress bar, bf16 autocast on CPU."""

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
    kw = dict(data="digits-sample", epochs=1, seed=0, save=False, device="cpu")
    bf16, fp32 = train("dense-ae-32", precision="bf16", **kw), train("dense-ae-32", **kw)
    # One epoch (18 steps) of the preset. Measured val_loss (2-core AMD EPYC, 2026-11-30),
    # seeds 0 / 1: bf16 462.3 / 482.4, fp32 within 0.04 of it (untrained: 784 ln 2 = 543).
    # Bounds: ~4 % above the worse seed; bf16 learns as much as fp32, to 1 %.
    assert bf16.history[0]["val_loss"] < 500.0
    assert bf16.history[0]["val_loss"] == pytest.approx(fp32.history[0]["val_loss"], rel=0.01)
    with pytest.raises(AekitError, match="fp16 needs a CUDA GPU"):
        train("dense-ae-32", data="digits-sample", epochs=1, save=False, precision="fp16", device="cpu")


def test_rich_bar_on_a_terminal_shows_loss_speed_and_eta(monkeypatch):
    import io
    import re

    from rich.console import Console

    from aekit.cli import progress
    from aekit.cli.progress import RichProgress

    monkeypatch.setattr(progress, "LOSS_EVERY_S", 0.0)   # read the running loss at every step

    class EveryStep(RichProgress):
        """Draws the bar after each step (rich's own refresh thread runs at 10 Hz)."""

        def on_step_end(self, trainer, *args):
            super().on_step_end(trainer, *args)
            self.progress.refresh()

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    run = train("dense-ae-32", data="digits-sample", epochs=2, seed=0, save=False, callbacks=[EveryStep(console)])
    text = out.getvalue()
    bars = [line for line in re.split(r"[\r\n]", text) if "epoch 2/2" in line and "img/s" in line]
    assert bars, text[-2000:]
    last = bars[-1]
    loss = float(re.search(r"loss (\d+\.\d{4})", last).group(1))
    assert 0 < loss < 1.5 * run.history[0]["train_loss"]          # the running mean of this epoch's loss
    assert re.search(r"[\d,]+ img/s", last) and re.search(r"\d+:\d\d:\d\d", last)   # speed and ETA
    assert re.search(r"\d+/\d+", last)                               # steps done / steps per epoch
    # The bar is transient; each epoch leaves its one summary line.
    assert text.count("epoch 1/2  train_loss") == 1 and text.count("epoch 2/2  train_loss") == 1
