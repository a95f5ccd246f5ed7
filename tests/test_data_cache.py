"""The parsed-array cache: used on reload, keyed by the source's checksum,
rebuilt when damaged, and kept in the user's cache folder (never the data
folder: see test_data_builtin's test_nothing_is_written_to_the_shared_data_folder)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aekit.data import load_dataset
from aekit.data.cache import cache_dir, cache_name
from aekit.data.registry import BUILTINS

TRAIN_IMAGES = BUILTINS["mnist"].files[0]


@pytest.fixture
def cache(monkeypatch, tmp_path):
    folder = tmp_path / "parsed"
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(folder))
    return folder


def cache_file(folder):
    return folder / cache_name("mnist.train-images-idx3-ubyte.gz", TRAIN_IMAGES.sha256)


def test_second_load_reads_the_cache(cache):
    first = load_dataset("mnist", val_fraction=0.0)
    path = cache_file(cache)
    assert path.is_file() and TRAIN_IMAGES.sha256[:16] in path.name
    assert len(list(cache.glob("mnist.*.npy"))) == 4
    assert not list(cache.glob(".*"))                     # no temporary files left behind
    cached = np.load(path)
    assert cached.dtype == np.uint8 and np.array_equal(cached, first.train.images[:, 0].numpy())
    second = load_dataset("mnist", val_fraction=0.0)
    assert torch.equal(first.train.images, second.train.images)
    assert torch.equal(first.test.labels, second.test.labels)
    # Proof the reload came from the cache: a (valid) cache with other pixels is what loads.
    np.save(path, np.zeros_like(cached))
    assert int(load_dataset("mnist", val_fraction=0.0).train.images.max()) == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong shape"])
def test_damaged_cache_is_rebuilt(cache, damage):
    reference = load_dataset("mnist", val_fraction=0.0).train.images
    path = cache_file(cache)
    if damage == "garbage":
        path.write_bytes(b"this is not an npy file\n" * 10)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        np.save(path, np.zeros((10, 28, 28), np.uint8))
    again = load_dataset("mnist", val_fraction=0.0).train.images
    assert torch.equal(again, reference)
    rebuilt = np.load(path)
    assert rebuilt.shape == (60000, 28, 28) and np.array_equal(rebuilt, reference[:, 0].numpy())


def test_cache_goes_to_the_user_cache_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("AEKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "aekit" / "parsed"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "aekit" / "parsed"
    monkeypatch.setenv("AEKIT_CACHE_DIR", "~/elsewhere")
    assert cache_dir() == tmp_path / "home" / "elsewhere"


def test_unwritable_cache_dir_still_loads(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(blocker / "parsed"))   # cannot be created
    data = load_dataset("digits-sample")
    assert len(data.train) + len(data.val) + len(data.test) == 5000
