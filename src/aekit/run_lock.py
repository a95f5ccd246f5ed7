"""One writing process per run folder: `RUN/run.lock`, held with flock, by
`train`, and by `evaluate` and `report` while they write into the folder.

The lock is the kernel's (fcntl.flock), not the file's existence: when the
process ends in any way, SIGKILL included, the kernel releases it, so a dead
run never blocks the next `aekit train --resume`. The file records the
holder's pid, for the message the second process prints. Holding it, a
process removes the temporary files that a killed run's writes left behind
(aekit.fs.remove_temporaries). Where flock does not exist (Windows) runs are
not locked.

Re-entrant within one process: `aekit.train` writes the run's report at its
end while it holds the lock, and a second flock on another open file of the
same file would fail; a process that holds a folder's lock passes through.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from aekit.errors import AekitError
from aekit.fs import make_folder, remove_temporaries

LOCK_NAME = "run.lock"

_held: set[str] = set()   # the real paths of the run folders this process holds


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold `run_dir/run.lock` for the block; another process holding it ->
    AekitError at once. This process holding it already: the block runs."""
    try:
        import fcntl
    except ImportError:   # Windows
        yield
        return
    key = os.path.realpath(run_dir)
    if key in _held:   # this process holds it, further up the stack
        yield
        return
    new, acquired = _absent_folders(run_dir), False
    try:
        with _flock(run_dir, fcntl):
            acquired = True
            _held.add(key)
            try:
                yield
            finally:
                _held.discard(key)
    except BaseException:
        # A new run that failed before it wrote a file (a bad dataset, a full disk) leaves no folder behind.
        # (Not when the lock was refused: then the folder is another process's.)
        if new and acquired:
            _remove_empty_folders(Path(run_dir), new)
        raise


def _absent_folders(folder) -> list[Path]:
    """`folder` and its ancestors that do not exist yet (making the lock's folder makes them), deepest first."""
    absent, path = [], Path(os.path.abspath(folder))
    while not path.exists() and path != path.parent:
        absent.append(path)
        path = path.parent
    return absent


def _remove_empty_folders(run_dir: Path, created: list[Path]) -> None:
    """The empty folders under `run_dir` (made by this process: the folder is new), then the folders
    in `created` that are empty; a folder holding anything stays."""
    for root, _, _ in sorted(os.walk(run_dir), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(root)
    for folder in created:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


@contextlib.contextmanager
def _flock(run_dir, fcntl) -> Iterator[None]:
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
            raise AekitError(f"{run_dir} is in use by another aekit process (pid {holder}): try again when it "
                             "finishes, or stop it (a process that died holds no lock)") from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
