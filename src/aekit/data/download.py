"""Make a built-in dataset's files present and verified: `fetch`.

A file already in the data folder is verified and used. A missing one is
downloaded from the first mirror that works, streamed into a temporary file
beside its target and hashed on the way; only a complete file with the right
SHA-256 is renamed into place, so no partial or corrupt file is ever left.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from aekit.data.checksum import CHUNK, verify_file
from aekit.data.paths import default_data_dir, is_writable_dir, offline
from aekit.data.registry import RemoteFile, get_builtin
from aekit.errors import DataError
from aekit.fs import atomic_open

TIMEOUT_S = 60


class _BadDownload(Exception):
    """A mirror answered, but not with the published file."""


# What one mirror can fail with; any of these moves on to the next mirror.
_MIRROR_FAILURES = (OSError, http.client.HTTPException, ValueError, _BadDownload)


def fetch(name: str, *, data_dir: str | os.PathLike | None = None, mirrors: list[str] | None = None,
          download: bool = True) -> dict[str, Path]:
    """Ensure the files of built-in dataset `name` are present and verified.

    Returns their paths by role ("train_images", "test_labels", "val", ...).
    `mirrors` replaces the registry's list of base URLs (tried in order).
    Nothing is downloaded when `download` is False or AEKIT_OFFLINE=1.
    """
    info = get_builtin(name)
    if info.format == "sample":
        from aekit.data.sample import sample_path
        return {"csv": sample_path()}
    folder = (Path(data_dir).expanduser() if data_dir is not None else default_data_dir()) / info.name
    urls = list(info.mirrors if mirrors is None else mirrors)
    paths = {}
    for file in info.files:
        path = folder / file.name
        if os.path.lexists(path):
            verify_file(path, file.sha256)
        elif not download or offline():
            why = "AEKIT_OFFLINE=1" if offline() else "download=False"
            raise DataError(
                f"{info.name} file {path} not found; downloads are off ({why}): put the file there, "
                f"set AEKIT_DATA_DIR to a folder holding {info.name}/, or use --data digits-sample offline")
        else:
            _download(info.name, file, path, urls)
        paths[file.role] = path
    return paths


def _download(dataset: str, file: RemoteFile, path: Path, urls: list[str]) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {folder} to download {file.name} ({e.strerror or e}): "
                        f"set AEKIT_DATA_DIR to a writable folder") from None
    if not is_writable_dir(folder):
        raise DataError(f"cannot download {file.name} into {folder}: the folder is read-only; "
                        f"set AEKIT_DATA_DIR to a writable folder")
    failures = []
    for base in urls:
        url = base.rstrip("/") + "/" + file.name
        try:
            # atomic_open deletes its temporary file when anything below raises.
            with atomic_open(path, "wb") as out:
                _stream(url, out, file, f"{dataset}/{file.name}")
            return
        except _MIRROR_FAILURES as e:
            failures.append(f"{url}: {_reason(e)}")
    tried = "; ".join(failures) if failures else "no mirror configured"
    raise DataError(f"could not download {dataset}/{file.name} ({tried}): check the network, place the file "
                    f"in {folder} by hand, or use --data digits-sample to work offline")


def _stream(url: str, out: BinaryIO, file: RemoteFile, label: str) -> None:
    from aekit import __version__

    request = urllib.request.Request(url, headers={"User-Agent": f"aekit/{__version__} (dataset download)"})
    show = sys.stderr.isatty()
    digest, received = hashlib.sha256(), 0
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if show:
                print(f"\rdownloading {label}: {100 * received // max(file.size, 1):3d}% "
                      f"of {file.size / 1e6:.1f} MB", end="", file=sys.stderr, flush=True)
    if show:
        print(file=sys.stderr)
    if received != file.size:
        raise _BadDownload(f"got {received} bytes, expected {file.size}")
    actual = digest.hexdigest()
    if actual != file.sha256:
        raise _BadDownload(f"wrong checksum (sha256 {actual[:12]}..., expected {file.sha256[:12]}...)")


def _reason(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__
