"""User data: image folders, .npy and .npz files, built from real MNIST digits."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image

from aekit.data import Dataset, load_dataset
from aekit.data.idx import read_idx_images, read_idx_labels
from aekit.data.splits import TEST_SEED

from helpers import row_hashes


@functools.lru_cache(maxsize=None)
def digits(shared: str, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """The first n real MNIST test digits, uint8 [n, 28, 28], and their labels."""
    images = read_idx_images(f"{shared}/mnist/t10k-images-idx3-ubyte.gz")[:n]
    labels = read_idx_labels(f"{shared}/mnist/t10k-labels-idx1-ubyte.gz")[:n]
    return images, labels


@pytest.fixture
def mnist60(shared_data):
    return digits(str(shared_data))


def all_images(data: Dataset) -> torch.Tensor:
    return torch.cat([data.train.images, data.val.images, data.test.images])


def all_labels(data: Dataset) -> torch.Tensor:
    return torch.cat([data.train.labels, data.val.labels, data.test.labels])


def write_class_folders(root, images, labels, suffix=".png"):
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / f"digit-{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, mode="L").save(folder / f"{i:03d}{suffix}")


def test_png_class_folders_round_trip(mnist60, tmp_path):
    images, labels = mnist60
    write_class_folders(tmp_path / "digits", images, labels)
    data = load_dataset(tmp_path / "digits", val_fraction=0.2, seed=5)
    assert data.name == str(tmp_path / "digits")
    assert data.classes == tuple(f"digit-{d}" for d in sorted(set(labels.tolist())))
    assert data.image_shape == (1, 28, 28)
    # 10% test with the fixed seed, then 20% of the rest for validation.
    assert (len(data.train), len(data.val), len(data.test)) == (43, 11, 6)
    # Every PNG comes back byte-identical, with the label of its folder.
    by_hash = dict(zip(row_hashes(all_images(data)), all_labels(data).tolist()))
    assert sorted(by_hash) == sorted(row_hashes(images))
    for h, label in zip(row_hashes(images), labels.tolist()):
        assert data.classes[by_hash[h]] == f"digit-{label}"
    # The test split does not move with `seed`; train / val do.
    other = load_dataset(tmp_path / "digits", val_fraction=0.2, seed=6)
    assert torch.equal(other.test.images, data.test.images)
    assert not torch.equal(other.val.images, data.val.images)
    assert TEST_SEED == 1234          # documented in splits.py; changing it reshuffles users' test sets


def test_flat_folder_has_no_labels(mnist60, tmp_path):
    images, _ = mnist60
    for i, image in enumerate(images[:20]):
        Image.fromarray(image, mode="L").save(tmp_path / f"{i:02d}.bmp")
    data = load_dataset(tmp_path, val_fraction=0.0)
    assert data.classes is None and data.train.labels is None and data.test.labels is None
    assert (len(data.train), len(data.val), len(data.test)) == (18, 0, 2)
    # Order is the sorted file order (the test split is carved out, the rest keep their order).
    train_hashes = row_hashes(data.train.images[:, 0])
    expected = [h for h in row_hashes(images[:20]) if h in set(train_hashes)]
    assert train_hashes == expected


def test_train_and_test_subfolders_are_the_splits(mnist60, tmp_path):
    images, labels = mnist60
    write_class_folders(tmp_path / "train", images[:40], labels[:40])
    write_class_folders(tmp_path / "test", images[40:], labels[40:], suffix=".gif")
    data = load_dataset(tmp_path, val_fraction=0.25)
    assert (len(data.train), len(data.val), len(data.test)) == (30, 10, 20)
    assert data.image_shape == (1, 28, 28)            # Pillow's grey GIFs are palette images
    assert sorted(row_hashes(data.test.images)) == sorted(row_hashes(images[40:]))
    names = [data.classes[i] for i in data.test.labels.tolist()]
    by_hash = dict(zip(row_hashes(data.test.images), names))
    assert [by_hash[h] for h in row_hashes(images[40:])] == [f"digit-{d}" for d in labels[40:].tolist()]


def test_rgb_jpegs_resized(mnist60, tmp_path):
    images, _ = mnist60
    rgb = np.stack([images, images // 2, 255 - images], axis=-1)[:30]
    for i, image in enumerate(rgb):
        folder = tmp_path / ("train" if i < 20 else "test")
        folder.mkdir(exist_ok=True)
        Image.fromarray(image, mode="RGB").resize((40, 40), Image.Resampling.BILINEAR).save(
            folder / f"{i:02d}.jpg", quality=95)
    data = load_dataset(tmp_path, image_size=28, val_fraction=0.0)
    assert data.image_shape == (3, 28, 28) and data.train.images.dtype == torch.uint8
    assert (len(data.train), len(data.test)) == (20, 10) and data.classes is None and not data.binary
    # Test images keep their file order; back at 28x28 each is close to its
    # original (JPEG and two resizes), and far from the other digits.
    restored = data.test.images.permute(0, 2, 3, 1).double()
    error = (restored[:, None] - torch.from_numpy(rgb[20:]).double()[None]).abs().mean(dim=(2, 3, 4))
    assert error.diagonal().max() < 12
    assert torch.equal(error.argmin(dim=1), torch.arange(10))
    grey = load_dataset(tmp_path, image_size=(20, 24), channels=1, val_fraction=0.0)
    assert grey.image_shape == (1, 20, 24)


def test_grey_and_colour_mixed_become_rgb(tmp_path):
    Image.new("L", (8, 8), 200).save(tmp_path / "a.png")
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "b.png")
    Image.new("1", (8, 8), 1).save(tmp_path / "c.png")
    data = load_dataset(tmp_path, val_fraction=0.0)
    pixels = sorted(tuple(all_images(data)[i, :, 0, 0].tolist()) for i in range(3))
    assert data.image_shape == (3, 8, 8)
    assert pixels == [(10, 20, 30), (200, 200, 200), (255, 255, 255)]
    grey = load_dataset(tmp_path, val_fraction=0.0, channels=1)
    assert sorted(all_images(grey)[:, 0, 0, 0].tolist()) == [18, 200, 255]   # Pillow's luma for (10, 20, 30)


def test_binary_folder_is_flagged(tmp_path):
    for i in range(3):
        image = np.zeros((6, 6), np.uint8)
        image[i] = 255
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    assert load_dataset(tmp_path).binary


@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW", "float"])
def test_npy_round_trip(mnist60, tmp_path, layout):
    images, _ = mnist60
    array = {"NHW": images, "NHWC": images[..., None], "NCHW": images[:, None],
             "float": images.astype(np.float32) / 255}[layout]
    path = tmp_path / "digits.npy"
    np.save(path, array)
    data = load_dataset(path, val_fraction=0.1)
    assert data.image_shape == (1, 28, 28) and data.classes is None and data.train.labels is None
    assert (len(data.train), len(data.val), len(data.test)) == (49, 5, 6)
    assert sorted(row_hashes(all_images(data))) == sorted(row_hashes(images))


def test_npy_rgb_channels_last(mnist60, tmp_path):
    images, _ = mnist60
    rgb = np.stack([images, 255 - images, images // 3], axis=-1)
    np.save(tmp_path / "rgb.npy", rgb)
    data = load_dataset(tmp_path / "rgb.npy", val_fraction=0.0)
    assert data.image_shape == (3, 28, 28)
    assert sorted(row_hashes(all_images(data).permute(0, 2, 3, 1).contiguous())) == sorted(row_hashes(rgb))
    # RGB -> grey gives exactly Pillow's grey, as for image folders.
    grey = load_dataset(tmp_path / "rgb.npy", channels=1, val_fraction=0.0)
    pillow = np.stack([np.asarray(Image.fromarray(image).convert("L")) for image in rgb])
    assert sorted(row_hashes(all_images(grey))) == sorted(row_hashes(pillow))
    assert load_dataset(tmp_path / "rgb.npy", channels=1, image_size=14).image_shape == (1, 14, 14)


def test_npz_keras_layout(mnist60, tmp_path):
    images, labels = mnist60
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images[:50], y_train=labels[:50], x_test=images[50:], y_test=labels[50:])
    data = load_dataset(path, val_fraction=0.2)
    assert data.classes == tuple(str(d) for d in sorted(set(labels.tolist())))
    assert (len(data.train), len(data.val), len(data.test)) == (40, 10, 10)
    assert torch.equal(data.test.images[:, 0], torch.from_numpy(images[50:]))
    assert [data.classes[i] for i in data.test.labels.tolist()] == [str(d) for d in labels[50:].tolist()]
    by_hash = dict(zip(row_hashes(all_images(data)), all_labels(data).tolist()))
    assert [data.classes[by_hash[h]] for h in row_hashes(images)] == [str(d) for d in labels.tolist()]


def test_npz_images_with_string_labels(mnist60, tmp_path):
    images, labels = mnist60
    names = np.array(["even", "odd"])[labels % 2]
    np.savez(tmp_path / "d.npz", images=images, labels=names)
    data = load_dataset(tmp_path / "d.npz", val_fraction=0.0)
    assert data.classes == ("even", "odd")
    by_hash = dict(zip(row_hashes(all_images(data)), all_labels(data).tolist()))
    assert [data.classes[by_hash[h]] for h in row_hashes(images)] == names.tolist()
    np.savez(tmp_path / "u.npz", images=images)
    assert load_dataset(tmp_path / "u.npz").classes is None
