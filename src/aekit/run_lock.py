"""One training process per run folder: `RUN/run.lock`, held with flock.

The lock is the kernel's (fcntl.flock), not the file's existence: when the
process ends in any way, SIGKILL included, the kernel releases it, so a dead
run never blocks the next `aekit train --resume`. The file records the
holder's pid, for the message the second process prints. Holding it, a
process removes the temporary files that a killed run's writes left behind
(aekit.fs.remove_temporaries). Where flock does not exist (Windows) runs are
not locked.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from aekit.errors import AekitError
from aekit.fs import make_folder, remove_temporaries

LOCK_NAME = "run.lock"


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold `run_dir/run.lock` for the block; another holder -> AekitError at once."""
    try:
        import fcntl
    except ImportError:   # Windows
        yield
        return
    path = make_folder(run_dir) / LOCK_NAME
    fd = _locked(path, fcntl, run_dir)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        # Ours alone now: what a killed run's writes left half-done goes.
        for folder in (Path(run_dir), Path(run_dir) / "checkpoint", Path(run_dir) / "images"):
            remove_temporaries(folder)
        try:
            yield
        finally:
            # Removed while still held: a process that opens the name later makes a new file.
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(fd)


def _locked(path: Path, fcntl, run_dir) -> int:
    """An fd of `path` holding its flock. The holder unlinks the file before it
    lets go, so a lock won on a file no longer at `path` is let go and retried."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as err:
            raise AekitError(f"cannot create {path} ({err.strerror}): choose a folder you can write to") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise AekitError(f"{run_dir} is in use by another aekit process (pid {holder}): wait for it to "
                             "finish or stop it, then run again (a process that died holds no lock)") from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
