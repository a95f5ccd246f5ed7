"""`torchrun --nproc-per-node 2 -m aekit evaluate` (gloo, CPU) gives the
figures of one process: the images are cut into fixed chunks with seeds of
their own (aekit.evaluation.shards), so the ranks differ from one process
only in the order the chunks' float64 sums are added, and in float32
rounding where torch's kernels split work over another number of threads
(torchrun gives each rank one thread). Tolerance: 1e-6 relative (measured
2026-11-30 on the 2-core AMD EPYC Zen 4 VM: at most 3.5e-16 over every
figure); the integer counts equal."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aekit
from aekit.evaluation import evaluate

# 1,300 training digits: chunks of 500, 500 and 300, so rank 0 holds two (0 and 2) and rank 1 one.
ARGS = ["--split", "train", "--limit", "1300", "--nll-samples", "10", "--seed", "3", "--anomaly-class", "1",
        "--json", "--no-probes"]   # the probes run on rank 0 alone, the same code as one process: their time is spent elsewhere


def _close(a, b, path=""):
    """Every number of `a` equals `b`'s within 1e-6 relative; everything else exactly."""
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_two_process_evaluation_equals_one_process(tmp_path):
    # A denoising VAE: every sharded section at once (reconstruction and PCA, ELBO, KL per
    # dimension, active units from gathered posterior means, NLL, denoising noise), and the
    # anomaly section rank 0 computes from every rank's per-image NLLs and sends to the others.
    run = aekit.train("vae-kingma", data="digits-sample", epochs=1, seed=0, device="cpu", out=tmp_path / "run",
                      sets=["train.grid_every=0", "model.corruption={type: gaussian, sigma: 0.3}"])
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    ddp = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "aekit", "evaluate", str(run.dir),
                          *ARGS], capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    two = json.loads(ddp.stdout)   # rank 0 alone printed: one JSON document
    assert two["meta"]["processes"] == 2
    assert json.loads((run.dir / "evaluation.json").read_text()) == two   # rank 0 wrote it
    one = evaluate(run.dir, split="train", limit=1300, nll_samples=10, seed=3, anomaly_class=1, write=False,
                   probes=False)
    assert one["meta"]["processes"] == 1
    for section in ("meta", "reconstruction", "vae", "denoising", "anomaly"):
        assert section in one and section in two
    for record in (one, two):
        del record["meta"]["processes"], record["meta"]["date"]
    _close(two, one)
    assert two["vae"]["active_units"] == one["vae"]["active_units"]


@pytest.mark.parametrize("world", [1, 2, 3])
def test_chunks_cover_the_split_once_whatever_the_number_of_ranks(monkeypatch, world):
    from aekit.evaluation.shards import all_chunks, my_chunks

    seen = []
    for rank in range(world):
        monkeypatch.setenv("WORLD_SIZE", str(world))
        monkeypatch.setenv("RANK", str(rank))
        seen += my_chunks(1300)
    assert sorted(seen, key=lambda c: c.index) == all_chunks(1300)
    assert [(c.start, c.stop) for c in all_chunks(1300)] == [(0, 500), (500, 1000), (1000, 1300)]
