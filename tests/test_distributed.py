"""DDP for real: torchrun launches 2 CPU processes (gloo); the final weights
match one process with the same global batch and seed. Tolerance: 1e-5
absolute (measured 6e-7: gradients are averaged over ranks in another
float summation order than one process's batch mean)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

ARGS = ["-m", "aekit", "train", "--preset", "dense-ae-32", "--data", "digits-sample", "--epochs", "2",
        "--seed", "1", "--batch-size", "250", "--checkpoint-every", "5"]


def test_two_process_ddp_matches_one_process(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    ddp = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", *ARGS, "--out", str(tmp_path / "ddp")],
                         capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    one = subprocess.run([sys.executable, *ARGS, "--out", str(tmp_path / "one")], capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    a, b = load_file(str(tmp_path / "ddp" / "model.safetensors")), load_file(str(tmp_path / "one" / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-5)
    # Only rank 0 wrote: one "trained" line, and the metrics equal the single process's closely.
    assert ddp.stdout.count("trained dense-ae-32") == 1
    ha = [json.loads(x) for x in (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()]
    hb = [json.loads(x) for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    for ma, mb in zip(ha, hb):
        assert abs(ma["train_loss"] - mb["train_loss"]) < 1e-3 and abs(ma["val_loss"] - mb["val_loss"]) < 1e-3
