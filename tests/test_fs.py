"""Atomic writes: a file is replaced whole or not at all, and no temporary is left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aekit.fs import atomic_open, atomic_write_text, atomic_write_with


def test_atomic_writes_replace_the_whole_file(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    atomic_write_with(path, lambda tmp: open(tmp, "w").write("third"))
    assert path.read_text() == "third"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"good")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "wb") as f:
            f.write(b"half")
            raise RuntimeError("disk full")

    def failing_writer(tmp):
        open(tmp, "wb").write(b"half")
        raise OSError("no space left")

    with pytest.raises(OSError):
        atomic_write_with(path, failing_writer)
    assert path.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_remove_temporaries_takes_only_what_a_killed_write_left(tmp_path):
    from aekit.fs import _create_temporary, remove_temporaries

    keep = [".hidden", ".a.b", "x.json", ".cfg.json.0123abcd.png", "last.json.0123abcd.tmp", ".tmpnotes", ".tmp12345"]
    for name in keep:
        (tmp_path / name).write_text("kept")
    left = []
    for target, suffix in (("last.json", ".tmp"), ("last-000003.safetensors", ".safetensors"), ("loss.png", ".png")):
        fd, name = _create_temporary(tmp_path / target, suffix)   # as a write killed before its rename leaves it
        os.close(fd)
        left.append(Path(name))
    # safetensors' own temporary (Rust's tempfile: `.tmp` + 6 characters), left by a kill inside save_file
    (tmp_path / ".tmpG8jJeH").write_bytes(b"half a tensor")
    left.append(tmp_path / ".tmpG8jJeH")
    assert sorted(remove_temporaries(tmp_path)) == sorted(left)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)
