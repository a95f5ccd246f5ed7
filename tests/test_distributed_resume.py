"""Resume under torchrun, for real: a 2-process gloo run is SIGKILLed (the
whole torchrun group) mid-epoch once a step checkpoint exists, resumed with
`torchrun ... --resume`, and must end with weights bitwise-identical to the
same 2-process run never interrupted.

vae-kingma draws reparameterisation noise every step on every rank, and an
odd batch size gives the ranks unequal shards (128 and 127 images), so their
RNG streams differ: resume is exact only if each rank gets its own RNG state
back, not rank 0's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from helpers import checkpoint_generation

ARGS = ["-m", "aekit", "train", "--preset", "vae-kingma", "--data", "digits-sample", "--epochs", "2",
        "--seed", "4", "--batch-size", "255", "--checkpoint-every", "3"]
# 3,600 training images: 15 steps an epoch. Generations: 1 the start, 2-5
# steps 3-12, 6 epoch 1's end, 7-10 steps 18-27 (mid-epoch 2), 11 the end.
KILL_AT_GENERATION = 8


def torchrun(*args: str) -> list[str]:
    exe = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    return [exe, "--standalone", "--nproc-per-node", "2", *args]


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from Linux's /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def gone(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()   # a zombie is dead too
    except FileNotFoundError:
        return True


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL torchrun and its workers at once. Killing torchrun's process
    group is not enough: it starts each worker in a session of its own, and
    the orphaned workers would train on to the end."""
    pids = descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids):   # the workers are not our children: no wait()
        assert time.monotonic() < deadline, "torchrun's workers survived SIGKILL"
        time.sleep(0.01)


def test_torchrun_killed_then_resumed_matches_uninterrupted(tmp_path):
    reference = subprocess.run(torchrun(*ARGS, "--out", str(tmp_path / "reference")),
                               capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr[-3000:]

    run = tmp_path / "killed"
    proc = subprocess.Popen(torchrun(*ARGS, "--out", str(run)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while proc.poll() is None and checkpoint_generation(run) < KILL_AT_GENERATION:
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()[-3000:]
        kill_tree(proc)
    finally:
        proc.kill()
        proc.wait()
    meta = json.loads((run / "checkpoint" / "last.json").read_text())
    assert meta["epoch"] < 2 and meta["step_in_epoch"] > 0   # killed mid-run, resumes mid-epoch

    resumed = subprocess.run(torchrun("-m", "aekit", "train", "--resume", str(run)),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("trained vae-kingma") == 1   # rank 0 speaks for the run

    wa = load_file(str(tmp_path / "reference" / "model.safetensors"))
    wb = load_file(str(run / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    # The epoch sums cross the checkpoint as rank 0's global partial sum, so
    # the losses agree to float rounding, not bit for bit.
    ha = [json.loads(x) for x in (tmp_path / "reference" / "metrics.jsonl").read_text().splitlines()]
    hb = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in hb] == [1, 2]
    for ma, mb in zip(ha, hb):
        assert abs(ma["train_loss"] - mb["train_loss"]) < 1e-3 * abs(ma["train_loss"])
        assert ma["val_loss"] == mb["val_loss"]
    # Only rank 0 wrote: one tensors file per checkpoint generation, no stray temporaries.
    expected = ["last-%06d.safetensors" % checkpoint_generation(run), "last.json"]
    assert sorted(p.name for p in (run / "checkpoint").iterdir()) == expected
    assert not list(run.rglob("*.tmp*"))
