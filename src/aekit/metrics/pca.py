"""PCA in torch: the linear baseline an autoencoder must beat.

An autoencoder with a k-dimensional code that reconstructs worse than the best
k-dimensional linear projection has not earned its non-linearity, so every
preset is compared with PCA of the same k, on the same [0, 1] pixels.
"""

from __future__ import annotations

import torch

from aekit.errors import AekitError


def _flat_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] (or floats in [0, 1]) → float64 [N, D] in [0, 1]."""
    x = images.flatten(1)
    # In place on the new float64 copy: one [N, D] buffer, not two.
    return x.to(torch.float64).div_(255.0) if images.dtype == torch.uint8 else x.to(torch.float64)


class PCA:
    """fit / transform / inverse_transform / reconstruct, as scikit-learn's.

    Fitted by an eigendecomposition of the D x D covariance (D = 784 for
    MNIST): cheaper than an SVD of the N x D data when N >> D, and exact in
    float64. With fewer images than pixels (N <= D, k < N: a sample of 64x64
    RGB images, D = 12,288), of the N x N Gram matrix instead, whose
    eigenvectors give the same components (x_c^T u / |x_c^T u|) without the
    D x D matrix (1.2 GB at D = 12,288). `fit_images`: how many images it was fitted on."""

    def __init__(self, k: int):
        if k <= 0:
            raise AekitError(f"PCA needs a positive number of components, got {k}")
        self.k = k
        self.mean: torch.Tensor | None = None
        self.components: torch.Tensor | None = None   # [k, D], orthonormal rows
        self.explained_variance: torch.Tensor | None = None
        self.fit_images = 0

    def fit(self, images: torch.Tensor) -> "PCA":
        x = _flat_unit(images)
        if self.k > x.shape[1]:
            raise AekitError(f"PCA with {self.k} components on {x.shape[1]}-pixel images: use k <= {x.shape[1]}")
        self.mean = x.mean(0)
        xc = x - self.mean
        n, d = xc.shape
        self.fit_images = n
        if n <= d:
            self._fit_gram(xc)
            return self
        cov = xc.T @ xc / max(n - 1, 1)
        values, vectors = torch.linalg.eigh(cov)            # ascending
        order = values.argsort(descending=True)[: self.k]
        self.components = vectors[:, order].T.contiguous()
        self.explained_variance = values[order]
        return self

    def _fit_gram(self, xc: torch.Tensor) -> None:
        """The components from the N x N Gram matrix of the centred images `xc`.
        Each eigenvector u gives the component x_c^T u / |x_c^T u| only where its
        eigenvalue is well above rounding: when the images span fewer than k
        directions (n <= k, or repeated images), the rest are completed by
        Householder QR, which gives orthonormal rows whatever the input, with
        the well-defined components unchanged (up to rounding)."""
        n, d = xc.shape
        gram = xc @ xc.T / max(n - 1, 1)
        values, vectors = torch.linalg.eigh(gram)            # ascending; the covariance's nonzero eigenvalues
        order = values.argsort(descending=True)[: self.k]
        values = values[order].clamp(min=0)
        components = xc.T @ vectors[:, order]                # [D, min(k, n)], orthogonal columns
        # Eigenvalues below sqrt(eps) of the largest are rounding (or too close to it for x_c^T u
        # to be orthogonal to the rest to better than ~1e-8).
        rank = int((values > values[0] * torch.finfo(values.dtype).eps ** 0.5).sum()) if len(values) else 0
        if rank == self.k:
            components = components / components.norm(dim=0)
        else:
            # Fill the columns past the rank with unit pixel directions; QR orthonormalises them
            # against the first `rank` (which it leaves as they are, up to sign: fixed below).
            fill = torch.eye(d, self.k - rank, dtype=components.dtype)
            q, r = torch.linalg.qr(torch.cat([components[:, :rank], fill], 1))
            components = q * torch.where(r.diagonal() < 0, -1.0, 1.0)
            values = torch.cat([values[:rank], values.new_zeros(self.k - rank)])
        self.components = components.T.contiguous()
        self.explained_variance = values

    def transform(self, images: torch.Tensor) -> torch.Tensor:
        return (_flat_unit(images) - self.mean) @ self.components.T

    def inverse_transform(self, codes: torch.Tensor) -> torch.Tensor:
        return codes @ self.components + self.mean

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] float64, clipped to [0, 1].

        Clipped as the models' reconstructions are (`Autoencoder.to_unit`), so
        the baseline is judged by the same rule: a pixel is never darker than
        black or brighter than white. Clipping only moves a value towards every
        valid pixel, so it never raises the error; `inverse_transform` keeps
        the unclipped linear projection."""
        return self.inverse_transform(self.transform(images)).clamp(0, 1).view(images.shape)


def pca_squared_error(train_images: torch.Tensor, test_images: torch.Tensor, k: int) -> float:
    """Mean over test images of the per-image sum of squared errors on [0, 1]
    pixels, for PCA with `k` components fitted on `train_images` (its
    reconstructions clipped to [0, 1], as the models' are)."""
    pca = PCA(k).fit(train_images)
    err = (pca.reconstruct(test_images) - _flat_unit(test_images).view(test_images.shape)) ** 2
    return float(err.flatten(1).sum(1).mean())
