"""Shared test set-up: real data from ../shared/data, never a download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aekit.cpu import tune_cpu, usable_cpus  # does not load torch

# Under pytest-xdist, each worker gets its share of the cores: N workers with
# all cores' threads each would make every parallel op wait for a thread that
# another worker's thread holds. OMP_NUM_THREADS is read when torch loads.
if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ["OMP_NUM_THREADS"] = str(max(1, usable_cpus() // workers))

# Before any test module imports torch, as the `aekit` command does: how
# torch's OpenMP threads wait (aekit/cpu.py) only takes effect before it loads.
tune_cpu()

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

# Tests read the real datasets from the shared folder (its layout is aekit's
# cache layout), and must never touch the network.
os.environ.setdefault("AEKIT_DATA_DIR", str(SHARED_DATA))
os.environ["AEKIT_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = Path(os.environ["AEKIT_DATA_DIR"])
    if not (path / "mnist").is_dir():
        pytest.fail(f"real datasets not found in {path}: set AEKIT_DATA_DIR to the shared data folder")
    return path
