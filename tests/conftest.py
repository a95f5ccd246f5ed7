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


@pytest.fixture
def one_thread():
    """torch on one thread for the test, restored after (two threads on a
    2-core machine that other workers keep busy crawl)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def module_cache_dir(tmp_path_factory):
    """A cache folder of the test module's own (AEKIT_CACHE_DIR: memory maps,
    derived arrays), so that modules never see each other's cached data."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AEKIT_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = Path(os.environ["AEKIT_DATA_DIR"]).resolve()   # absolute: CI gives ../shared/data, tests symlink into it
    if not (path / "mnist").is_dir():
        pytest.fail(f"real datasets not found in {path}: set AEKIT_DATA_DIR to the shared data folder")
    return path


# The longest tests first, so that two xdist workers pack the suite well
# instead of one of them starting a 5-minute conv VAE at the end (the
# durations: `pytest --durations=40`; the conv VAEs and the family tests
# dominate). With `--dist worksteal` (pyproject's addopts) a worker that runs
# dry takes the not-yet-started half of the other's queue, so the slow tests
# at the front cannot pile up on one worker. Only the order changes.
SLOW_FIRST = ("vae-conv", "beta-vae", "test_family_dae", "ae-2d", "dropout-ae", "test_family_combos",
              "test_family_vae", "test_family_presets", "test_family_aae", "test_distributed")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        return next((i for i, key in enumerate(SLOW_FIRST) if key in item.nodeid), len(SLOW_FIRST))

    items.sort(key=rank)   # stable: within a rank, the files' own order
