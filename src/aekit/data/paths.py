"""Where data lives on disk, and whether a folder may be written to."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def _xdg_cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg).expanduser() if xdg else Path.home() / ".cache"


def default_data_dir() -> Path:
    """$AEKIT_DATA_DIR, else $XDG_CACHE_HOME/aekit/data, else ~/.cache/aekit/data."""
    env = os.environ.get("AEKIT_DATA_DIR")
    return Path(env).expanduser() if env else _xdg_cache_home() / "aekit" / "data"


def user_parsed_cache_dir() -> Path:
    """The per-user cache of parsed arrays (unless $AEKIT_CACHE_DIR names another)."""
    return _xdg_cache_home() / "aekit" / "parsed"


def offline() -> bool:
    """True when AEKIT_OFFLINE forbids any download."""
    return os.environ.get("AEKIT_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def is_writable_dir(folder: Path) -> bool:
    """True if `folder` is an existing folder we may write into.

    `os.access` alone answers yes to root for any folder on a writable mount,
    so a folder whose mode grants nobody write permission (like a shared,
    read-only data folder) counts as read-only too: we honour its owner's
    intent rather than what root could technically do.
    """
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) and bool(mode & 0o222) and os.access(folder, os.W_OK | os.X_OK)
