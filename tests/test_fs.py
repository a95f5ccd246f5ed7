"""Atomic writes: a file is replaced whole or not at all, and no temporary is left behind."""

from __future__ import annotations

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
