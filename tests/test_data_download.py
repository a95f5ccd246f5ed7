"""Downloads, against a local HTTP server on 127.0.0.1 serving copies of the
real files (nothing here touches the internet)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest

from aekit.data import fetch, load_dataset
from aekit.data.checksum import sha256_file
from aekit.data.registry import BUILTINS
from aekit.errors import DataError

MNIST = {f.name: f.sha256 for f in BUILTINS["mnist"].files}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve(folder: Path):
    """Serve `folder` over HTTP on an ephemeral port; yields (base URL, request log)."""
    log: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"requests": log})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", log
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def dead_url() -> str:
    """A local port with nothing listening: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def online(monkeypatch, tmp_path):
    monkeypatch.delenv("AEKIT_OFFLINE", raising=False)
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(tmp_path / "parsed"))


@pytest.fixture
def mirror(shared_data, tmp_path):
    """A writable copy of the real MNIST files, to be served (and damaged)."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    for path in (shared_data / "mnist").iterdir():
        shutil.copyfile(path, folder / path.name)
    return folder


def test_download_verifies_and_places_every_file(online, mirror, tmp_path):
    target = tmp_path / "data"
    with serve(mirror) as (url, log):
        paths = fetch("mnist", data_dir=target, mirrors=[url])
    assert sorted(log) == sorted(f"/{name}" for name in MNIST)
    assert {p.name for p in paths.values()} == set(MNIST)
    assert sorted(p.name for p in (target / "mnist").iterdir()) == sorted(MNIST)
    for name, sha in MNIST.items():
        assert sha256_file(target / "mnist" / name) == sha
    # Present and verified now: works offline, with no mirror at all.
    with serve(mirror) as (url, log):
        assert fetch("mnist", data_dir=target, mirrors=[url]) == paths
    assert log == []
    data = load_dataset("mnist", data_dir=target, download=False)
    assert (len(data.train), len(data.val), len(data.test)) == (54000, 6000, 10000)


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_corrupt_download_leaves_nothing_behind(online, mirror, tmp_path, damage):
    bad = mirror / "train-labels-idx1-ubyte.gz"       # the second file fetched
    raw = bytearray(bad.read_bytes())
    if damage == "flipped byte":
        raw[1000] ^= 0x10
    else:
        del raw[len(raw) // 2:]
    bad.write_bytes(bytes(raw))
    target = tmp_path / "data"
    with serve(mirror) as (url, _), pytest.raises(DataError) as excinfo:
        fetch("mnist", data_dir=target, mirrors=[url])
    message = str(excinfo.value)
    assert "\n" not in message
    assert "could not download mnist/train-labels-idx1-ubyte.gz" in message
    assert ("wrong checksum" if damage == "flipped byte" else "expected 28881") in message
    assert "digits-sample" in message and str(target / "mnist") in message
    # Only the intact first file arrived; no partial or temporary file is left.
    assert [p.name for p in (target / "mnist").iterdir()] == ["train-images-idx3-ubyte.gz"]


def test_dead_and_missing_mirrors_fall_through_to_a_good_one(online, mirror, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    target = tmp_path / "data"
    with serve(empty) as (url_404, log_404), serve(mirror) as (url_ok, _):
        paths = fetch("mnist", data_dir=target, mirrors=[dead_url(), url_404, url_ok])
    assert len(log_404) == 4                            # asked for each file, answered 404
    assert all(sha256_file(p) == MNIST[p.name] for p in paths.values())


def test_all_mirrors_failing_is_one_clear_error(online, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    dead = dead_url()
    with serve(empty) as (url_404, _), pytest.raises(DataError) as excinfo:
        fetch("mnist", data_dir=tmp_path / "data", mirrors=[dead, url_404])
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith("could not download mnist/train-images-idx3-ubyte.gz (")
    assert f"{dead}train-images-idx3-ubyte.gz: " in message and "HTTP 404" in message
    assert "--data digits-sample" in message and "by hand" in message
    assert list((tmp_path / "data" / "mnist").iterdir()) == []


def test_offline_never_contacts_a_mirror(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_OFFLINE", "1")
    with serve(mirror) as (url, log), pytest.raises(DataError) as excinfo:
        fetch("mnist", data_dir=tmp_path / "data", mirrors=[url])
    assert "not found" in str(excinfo.value) and "AEKIT_OFFLINE=1" in str(excinfo.value)
    assert log == []
    assert not (tmp_path / "data").exists()


def test_read_only_target_is_reported(online, mirror, tmp_path):
    target = tmp_path / "data"
    (target / "mnist").mkdir(parents=True)
    (target / "mnist").chmod(0o555)
    try:
        with serve(mirror) as (url, log), pytest.raises(DataError) as excinfo:
            fetch("mnist", data_dir=target, mirrors=[url])
    finally:
        (target / "mnist").chmod(0o755)
    assert "read-only" in str(excinfo.value) and "AEKIT_DATA_DIR" in str(excinfo.value)
    assert log == []
