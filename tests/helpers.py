"""Small helpers shared by several test modules (importable: pytest puts
this folder on sys.path, beside conftest.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np


def checkpoint_generation(run: Path) -> int:
    """The generation named by a run folder's checkpoint/last.json (0 before the first)."""
    try:
        return json.loads((run / "checkpoint" / "last.json").read_text())["generation"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def row_hashes(images) -> list[bytes]:
    """One SHA-1 per image (numpy array or CPU tensor), to compare sets of images."""
    flat = np.asarray(images).reshape(len(images), -1)
    return [hashlib.sha1(row.tobytes()).digest() for row in flat]
