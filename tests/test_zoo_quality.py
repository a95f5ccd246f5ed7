"""benchmarks/zoo_quality.py (the zoo page's test figures): its epoch budget
from zoo-speed.md's measured speeds, and a --quick run of one preset end to
end (train, evaluate, one table row), which writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import zoo_quality  # noqa: E402


def test_epochs_fit_the_budget_from_the_measured_speeds():
    speeds = zoo_quality.speeds()
    assert set(speeds) >= {"dense-ae-32", "conv-ae-10", "beta-vae"}
    # zoo-speed.md (2026-11-30 15:52 UTC): dense-ae-32's 50 epochs project to 0.5 min, conv-ae-10's
    # 100 to 42.6 (0.43 an epoch), beta-vae's 30 to 89.0 (3.0 an epoch)
    assert zoo_quality.budget_epochs(speeds["dense-ae-32"], 2) == 50            # all its epochs fit
    assert zoo_quality.budget_epochs(speeds["conv-ae-10"], 2) == 4
    assert zoo_quality.budget_epochs(speeds["beta-vae"], 2) == 1                # at least one
    # the default budget keeps the zoo's training near the 40 quiet minutes the docstring promises
    total = sum(min(s.epochs, zoo_quality.budget_epochs(s, 2)) * s.minutes_per_epoch() for s in speeds.values())
    assert 25 < total < 40, total


def test_quick_run_trains_evaluates_and_writes_nothing():
    before = sorted(p.name for p in zoo_quality.RESULTS.iterdir())
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "zoo_quality.py"), "--quick", "--only",
                          "dense-ae-32"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| dense-ae-32 |")]
    assert len(rows) == 1, out.stdout
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert len(cells) == len(zoo_quality.HEAD)
    assert cells[1:3] == ["mnist", "1 / 50"]
    # 1 epoch of 300 images is 2 steps at batch 256: the output stays near 0.5 everywhere, whose SSE on
    # these 300 test images is 181.20; measured 181.48, PCA-32 (fitted on 300 images) 13.97, kNN 0.61
    # (2-core AMD EPYC, 2026-11-30)
    sse, pca = float(cells[4]), float(cells[5].split()[1])
    assert 0 < sse < 200 and cells[5].startswith("PCA-32 ") and 10 < pca < 20, cells
    assert 0.3 < float(cells[12]) <= 1, cells                                     # kNN accuracy on 10 classes
    assert sorted(p.name for p in zoo_quality.RESULTS.iterdir()) == before
