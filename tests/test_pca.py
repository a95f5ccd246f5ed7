"""The PCA baseline: exact where it must be, checked against an independent
numpy SVD on real MNIST images, and clipped to [0, 1] as the models are."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from aekit.metrics import PCA, pca_squared_error

from test_family_support import N_EVAL, dataset

N_TRAIN = 5000
# Measured (this session, 2026-11-30; 5,000 training, 2,000 test images; float64, so
# the same on any machine to ~1e-12): the error of the unclipped projection and how much
# clipping lowers it: k = 2: 42.650 -> 42.533 (0.27 %), k = 10: 27.210 -> 26.380 (3.05 %),
# k = 32: 13.896 -> 12.635 (9.07 %). Asserted: at least half of each drop.
MIN_CLIPPING_GAIN = {2: 0.0013, 10: 0.015, 32: 0.045}


def _unit(images: torch.Tensor) -> np.ndarray:
    return images.flatten(1).numpy().astype(np.float64) / 255.0


@pytest.fixture(scope="module")
def mnist_svd():
    """The first 5,000 MNIST training images, the first 2,000 test images, and the
    SVD of the centred training images by numpy (LAPACK), independent of aekit's
    eigendecomposition in torch."""
    data = dataset("mnist")
    train, test = data.train.images[:N_TRAIN], data.test.images[:N_EVAL]
    x = _unit(train)
    mean = x.mean(0)
    # One BLAS thread: OpenBLAS's own threads, on cores that pytest-xdist workers or torch
    # already keep busy, made this SVD 10-30x slower (2.8 s -> 37 s, 2-core AMD EPYC,
    # this session, 2026-11-30, with other processes running).
    with threadpool_limits(1, user_api="blas"):
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return train, test, mean, vt, s ** 2 / (len(x) - 1)


@functools.lru_cache(maxsize=None)
def fitted(k: int) -> PCA:
    """aekit's PCA with k components, fitted on the same 5,000 training images (once per k)."""
    return PCA(k).fit(dataset("mnist").train.images[:N_TRAIN])


@pytest.mark.parametrize("k", [2, 10, 32])
def test_pca_matches_numpy_svd_on_mnist(k, mnist_svd):
    train, test, mean, vt, variance = mnist_svd
    pca = fitted(k)
    np.testing.assert_allclose(pca.mean.numpy(), mean, rtol=0, atol=1e-12)
    # Components are unique up to sign (MNIST's first 33 eigenvalues are all distinct,
    # the closest pair 1.5 % apart, so no rotation within a subspace either).
    ours, theirs = pca.components.numpy(), vt[:k]
    signs = np.sign((ours * theirs).sum(1))
    np.testing.assert_allclose(ours * signs[:, None], theirs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(pca.explained_variance.numpy(), variance[:k], rtol=1e-10)
    # Reconstruction of held-out images: the linear projection, then clipped to [0, 1].
    x = _unit(test)
    linear = (x - mean) @ theirs.T @ theirs + mean
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(test)).numpy(), linear, rtol=0, atol=1e-10)
    clipped = np.clip(linear, 0.0, 1.0)
    np.testing.assert_allclose(pca.reconstruct(test).flatten(1).numpy(), clipped, rtol=0, atol=1e-10)
    assert pca.reconstruct(test).shape == test.shape
    error = ((clipped - x) ** 2).sum(1).mean()
    assert pca_squared_error(train, test, k) == pytest.approx(error, rel=1e-10)


@pytest.mark.parametrize("k", [2, 10, 32])
def test_clipping_lowers_the_pca_error_on_mnist(k, mnist_svd):
    test = mnist_svd[1]
    pca = fitted(k)
    x = torch.from_numpy(_unit(test))
    linear = pca.inverse_transform(pca.transform(test))
    assert (linear < 0).any() and (linear > 1).any()         # there is something to clip
    unclipped = ((linear - x) ** 2).sum(1)
    clipped = ((pca.reconstruct(test).flatten(1) - x) ** 2).sum(1)
    assert (clipped <= unclipped).all()                       # never worse on any image
    gain = 1 - clipped.mean().item() / unclipped.mean().item()
    print(f"PCA-{k}: unclipped {unclipped.mean().item():.3f}, clipped {clipped.mean().item():.3f} "
          f"({100 * gain:.2f} % lower)")
    assert gain > MIN_CLIPPING_GAIN[k]


def test_pca_is_exact_with_all_components_and_optimal_on_a_plane():
    torch.manual_seed(0)
    data = torch.rand(500, 1, 4, 4)
    full = PCA(16).fit(data)
    torch.testing.assert_close(full.reconstruct(data), data.to(torch.float64), atol=1e-9, rtol=0)
    # Points on a 2-d plane in 16-d: two components project them exactly, one does not.
    # (The plane reaches outside [0, 1]: the linear projection, before clipping.)
    basis = torch.linalg.qr(torch.randn(16, 2))[0].T
    plane = (torch.randn(300, 2) @ basis + 0.5).view(300, 16)
    two, one = PCA(2).fit(plane), PCA(1).fit(plane)
    assert (two.inverse_transform(two.transform(plane)) - plane).abs().max() < 1e-6   # float32 input
    assert (one.inverse_transform(one.transform(plane)) - plane).abs().max() > 1e-2


def test_pca_uint8_images_are_scaled_to_unit_range():
    images = torch.randint(0, 256, (100, 1, 3, 3), dtype=torch.uint8)
    pca = PCA(9).fit(images)
    assert pca.mean.max() <= 1.0
    torch.testing.assert_close(pca.reconstruct(images), images.double() / 255, atol=1e-9, rtol=0)


@pytest.mark.parametrize("n, distinct, k", [(12, 3, 5), (4, 4, 10), (6, 1, 3)])
def test_pca_on_fewer_distinct_images_than_components_is_orthonormal(n, distinct, k):
    """Fitted on fewer pixels' worth of images (the Gram-matrix path) that span
    fewer than k directions: the components stay orthonormal (before, with 12
    images of 3 distinct, k = 5: C C^T off the identity by 0.91), and the ones
    the images do span still reconstruct them exactly."""
    digits = dataset("mnist").train.images[:distinct]
    images = digits[torch.arange(n) % distinct]
    pca = PCA(k).fit(images)
    c = pca.components
    assert c.shape == (k, 784)
    torch.testing.assert_close(c @ c.T, torch.eye(k, dtype=torch.float64), atol=1e-9, rtol=0)
    assert (pca.explained_variance >= 0).all()
    # With at least distinct - 1 components the centred images lie in their span: exact.
    torch.testing.assert_close(pca.inverse_transform(pca.transform(images)), images.flatten(1).double() / 255,
                               atol=1e-9, rtol=0)
