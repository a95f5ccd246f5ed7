"""Atomic file writes: a reader (or a crash) never sees a half-written file.

Every file the product writes goes through here: write to a temporary file in
the same folder, flush and fsync, then `os.replace` over the target, which is
atomic on POSIX and Windows. The folder is fsynced too so the rename survives
a power loss.

Permissions: a file comes out as `open(path, "w")` would make it: a new file
gets 0o666 less the user's umask (e.g. -rw-r--r-- under umask 022), and a
file that is replaced keeps its mode. (tempfile.mkstemp, and safetensors'
own writer, make owner-only 0o600 files, which the rename would carry over.)
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from aekit.errors import WriteError


# Folders whose fsync is left to the end of a `batched_folder_sync` block.
_pending_folders: contextvars.ContextVar[set | None] = contextvars.ContextVar("pending_folders", default=None)


@contextlib.contextmanager
def batched_folder_sync() -> Iterator[None]:
    """Inside: every file is still fsynced before its rename, but each folder
    is fsynced once at the end instead of after every file (a run folder's
    per-epoch files: ~3 ms per fsync here). Only for files whose renames need
    no order among themselves; the checkpoint's do, and stay outside."""
    token = _pending_folders.set(set())
    try:
        yield
    finally:
        folders = _pending_folders.get()
        _pending_folders.reset(token)
        for folder in folders:
            _fsync_dir(folder)


@contextlib.contextmanager
def _replaced_on_success(path: str | os.PathLike, suffix: str) -> Iterator[tuple[int, str]]:
    """(fd, name) of a new temporary file beside `path`. On a clean exit of the
    block (which must have written and fsynced it) it replaces `path` and the
    folder is synced; on any error it is removed and `path` is untouched."""
    path = Path(path)
    make_folder(path.parent)
    try:
        fd, tmp = _create_temporary(path, suffix)
    except OSError as err:
        raise write_error(path, err) from None
    new_file_mode = stat.S_IMODE(os.fstat(fd).st_mode)   # 0o666 less the umask, as the kernel applied it
    try:
        yield fd, tmp
        _set_mode(path, tmp, new_file_mode)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno in _ENVIRONMENT_ERRNOS:
            raise write_error(path, err) from None
        raise
    _fsync_dir(path.parent)


# Write failures that are the disk's or the folder's, not a bug: one line for the user.
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR,
                       errno.ENOENT, errno.EISDIR, errno.EFBIG, errno.EIO}


def write_error(path: str | os.PathLike, err: OSError) -> WriteError:
    """The one-line error (an AekitError) for a write of `path` that failed with `err`."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(f"no space left on device writing {path}: free some space or write elsewhere "
                          "(the earlier file, if any, is unchanged)")
    reason = err.strerror or type(err).__name__
    return WriteError(f"cannot write {path} ({reason}): choose a folder you can write to")


def make_folder(folder: str | os.PathLike) -> Path:
    """mkdir -p, with a failure (a read-only place, a file in the way) as a one-line WriteError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WriteError(f"cannot create the folder {folder}: a file of that name is in the way; "
                         "give another folder") from None
    except OSError as err:
        raise WriteError(f"cannot create the folder {folder} ({err.strerror or type(err).__name__}): "
                         "choose a folder you can write to") from None
    return folder


_TEMP_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create_temporary(path: Path, suffix: str) -> tuple[int, str]:
    """A new file `.NAME.RANDOM{suffix}` beside `path`, opened for writing.
    Created with mode 0o666, so the kernel applies the umask as for open()."""
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:   # a name another writer drew: draw again
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def _set_mode(path: Path, tmp: str, new_file_mode: int) -> None:
    """The replacement's mode: that of the file it replaces, as rewriting it
    in place would keep, else a new file's. Set last, by name: a writer may
    have put its own file at `tmp` (safetensors writes 0o600 files and renames
    them), and a read-only mode set earlier would stop a writer reopening it."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:   # nothing to replace
        mode = new_file_mode
    os.chmod(tmp, mode)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[BinaryIO]:
    """Open a temporary file beside `path`; on clean exit it replaces `path`."""
    if mode not in ("wb", "w"):
        raise ValueError("atomic_open supports 'wb' and 'w' only")
    with _replaced_on_success(path, ".tmp") as (fd, _):
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_with(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Atomically produce `path` with a writer that only accepts a file name
    (safetensors, matplotlib, PIL ...): it writes a temporary name, we rename."""
    with _replaced_on_success(path, Path(path).suffix or ".tmp") as (fd, tmp):
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())


# `_create_temporary`'s names: `.NAME.` + 8 hex digits + `.tmp` or NAME's own suffix.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}(?P<suffix>\.[^.]+)$")
# safetensors' save_file (Rust's tempfile crate) first writes `.tmp` + 6 random
# characters beside the file it is asked for, then renames it: a kill inside
# that write leaves one of these.
_SAFETENSORS_TEMPORARY = re.compile(r"^\.tmp[A-Za-z0-9]{6}$")


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that writes killed mid-way (SIGKILL, power
    loss) left in `folder`; return them. Only for a folder no one else is
    writing into at the time (a run folder under its lock): a live writer's
    temporary file looks the same."""
    removed = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(folder):
            match = _TEMPORARY.match(entry.name)
            ours = match and (match["suffix"] == ".tmp" or match["name"].endswith(match["suffix"]))
            if (ours or _SAFETENSORS_TEMPORARY.match(entry.name)) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _fsync_dir(folder: Path) -> None:
    pending = _pending_folders.get()
    if pending is not None:
        pending.add(Path(folder))
        return
    # Not every platform lets a folder be opened (Windows): best effort there.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
