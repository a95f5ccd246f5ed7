"""Files aekit writes get the permissions `open()` would give them: a new file
0o666 less the umask (not mkstemp's or safetensors' owner-only 0o600), a
replaced file its old mode. Each test sets the umask and restores it."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from aekit.fs import atomic_open, atomic_write_bytes, atomic_write_text, atomic_write_with
from aekit.io import save_model
from aekit.models import Autoencoder
from aekit.training.config import resolve_config

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask():
    """Set the process umask for one test; the caller's is restored after."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write_each_way(folder) -> list:
    def safetensors_writer(tmp):
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(3)}, tmp)   # safetensors renames its own 0o600 file onto tmp

    paths = [folder / "a.txt", folder / "b.bin", folder / "c.safetensors", folder / "d.bin"]
    atomic_write_text(paths[0], "text")
    atomic_write_bytes(paths[1], b"bytes")
    atomic_write_with(paths[2], safetensors_writer)
    with atomic_open(paths[3]) as f:
        f.write(b"x")
    return paths


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664), (0o027, 0o640)],
                         ids=["umask022", "umask077", "umask002", "umask027"])
def test_new_files_get_0666_less_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    for path in write_each_way(tmp_path / "sub"):
        assert mode(path) == expected, (path.name, oct(mode(path)))
    # What open() gives, measured beside them.
    with open(tmp_path / "plain", "w"):
        pass
    assert mode(tmp_path / "plain") == expected


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    paths = write_each_way(tmp_path)
    for path, kept in zip(paths, (0o640, 0o600, 0o444, 0o664)):
        os.chmod(path, kept)
    write_each_way(tmp_path)   # each replaced: read-only 0o444 too (the folder is writable)
    for path, kept in zip(paths, (0o640, 0o600, 0o444, 0o664)):
        assert mode(path) == kept, (path.name, oct(mode(path)))
    assert (tmp_path / "a.txt").read_text() == "text"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)   # no temporaries


def test_model_files_are_readable_by_the_group_under_umask_022(tmp_path, umask):
    umask(0o022)
    cfg = resolve_config("fashion-ae").model
    cfg.input_shape = [1, 28, 28]
    save_model(Autoencoder(cfg), tmp_path)
    assert mode(tmp_path / "model.safetensors") == mode(tmp_path / "model.json") == 0o644


def test_a_trained_run_folder_holds_no_owner_only_file(tmp_path, umask):
    """Every file of a real run (weights, JSON, metrics, checkpoint, PNGs)
    as `ls -l` shows it under umask 022: -rw-r--r--, folders drwxr-xr-x."""
    import aekit

    umask(0o022)
    out = tmp_path / "run"
    aekit.train("fashion-ae", data="digits-sample", epochs=1, batch_size=256, seed=0, device="cpu", out=out)
    files = [p for p in out.rglob("*") if p.is_file()]
    expected = {"model.safetensors", "model.json", "best.safetensors", "metrics.jsonl", "config.yaml"}
    assert expected <= {p.name for p in files}
    assert {p.relative_to(out).as_posix(): oct(mode(p)) for p in files if mode(p) != 0o644} == {}
    assert all(mode(p) == 0o755 for p in [out, *out.rglob("*")] if p.is_dir())
