"""Shared test set-up: real data from ../shared/data, never a download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before any test module imports torch: aekit sets torch's OpenMP wait policy
# at import (see aekit/__init__.py), which only works before torch loads.
import aekit  # noqa: F401

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
