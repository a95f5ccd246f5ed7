"""Code quality: how much of the labels a code makes easy to read off.

Two probes, both trained on the codes of training images and scored on the
codes of test images (the labels are used here only, never in training the
autoencoder):

- kNN accuracy (k = 5, Euclidean, majority vote; ties go to the smallest
  label, as scikit-learn's KNeighborsClassifier): is the code's geometry
  class-aware?
- a linear probe: multinomial logistic regression (scikit-learn, L-BFGS) on
  standardised codes: is the class linearly decodable?

Each is run on three representations of the same images, so a figure has
its baselines beside it: the model's codes, PCA codes of the same size (PCA
fitted on the whole training split, on [0, 1] pixels; absent for a code
wider than the images) and the raw pixels.

The probes' training set is a seeded subsample of the training split
(`max_train` images, default 10,000: the logistic regression on 784 pixels
dominates the time); the test set is the whole test split unless
`max_test` is given. Same arguments, same numbers."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from aekit.cpu import flushing_denormals
from aekit.data.types import Split
from aekit.errors import AekitError
from aekit.metrics.codes import encode_images
from aekit.metrics.pca import PCA
from aekit.models.autoencoder import Autoencoder

K = 5                 # neighbours of the kNN probe
C = 1.0               # inverse L2 strength of the linear probe (scikit-learn's default)
MAX_ITER = 500        # L-BFGS iterations of the linear probe
MAX_TRAIN = 10_000    # training images the probes fit on (a seeded subsample beyond this)
_CHUNK = 1024         # test images per distance block: bounds memory at _CHUNK x n_train floats


def subsample(n: int, limit: int | None, seed: int) -> torch.Tensor:
    """Sorted indices of a seeded draw of min(n, limit) of range(n) (all of it
    when limit is None or >= n), from its own generator: the global stream is untouched."""
    if limit is None or limit >= n:
        return torch.arange(n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    return order[:limit].sort().values


def knn_predict(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, k: int = K) -> torch.Tensor:
    """Labels of `test_x` [M, D] by majority vote of their k nearest rows of
    `train_x` [N, D] (Euclidean). Distances are computed block by block as
    |a|^2 - 2 a.b + |b|^2 (one matmul per block) in float64, so that near-ties
    are ordered the same way on every machine."""
    if k > len(train_x):
        raise AekitError(f"kNN with k={k} needs at least {k} training images, got {len(train_x)}: lower k")
    a = train_x.to(torch.float64)
    a2 = (a * a).sum(1)
    n_classes = int(train_y.max()) + 1
    out = []
    for block in test_x.to(torch.float64).split(_CHUNK):
        d2 = a2.unsqueeze(0) - 2 * block @ a.T + (block * block).sum(1, keepdim=True)
        nearest = d2.topk(k, dim=1, largest=False).indices                 # [B, k]
        votes = torch.nn.functional.one_hot(train_y[nearest], n_classes).sum(1)
        out.append(votes.argmax(1))                                        # first max: smallest label
    return torch.cat(out)


def linear_probe_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                          test_y: torch.Tensor, c: float = C, max_iter: int = MAX_ITER) -> tuple[float, bool]:
    """(test accuracy, converged) of a multinomial logistic regression on
    standardised features (mean and scale of the training rows; constant
    features are left at scale 1, as scikit-learn's StandardScaler does)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits   # a dependency of scikit-learn

    x_train, x_test = train_x.to(torch.float64).numpy(), test_x.to(torch.float64).numpy()
    # One BLAS/OpenMP thread: each L-BFGS step is a small N x D @ D x classes
    # product, and with torch's OpenMP pool beside scikit-learn's, two threads
    # ran 7x slower (2026-11-30, 2-core Zen 4, 3000 MNIST pixel rows: 4.6 s
    # with 2 threads, 0.6 s with 1, the same 67 iterations).
    with threadpool_limits(limits=1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        scaler = StandardScaler().fit(x_train)
        fitted = LogisticRegression(C=c, max_iter=max_iter).fit(scaler.transform(x_train), train_y.numpy())
        predicted = fitted.predict(scaler.transform(x_test))
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return float(np.mean(predicted == test_y.numpy())), converged


def probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, *,
          k: int = K, c: float = C, max_iter: int = MAX_ITER) -> dict:
    """Both probes on one representation: {"knn_accuracy", "linear_probe_accuracy", "linear_probe_converged"}."""
    knn = float((knn_predict(train_x, train_y, test_x, k) == test_y).to(torch.float64).mean())
    linear, converged = linear_probe_accuracy(train_x, train_y, test_x, test_y, c, max_iter)
    return {"knn_accuracy": knn, "linear_probe_accuracy": linear, "linear_probe_converged": converged}


def has_labels(*splits: Split) -> bool:
    return all(s.labels is not None for s in splits)


@torch.inference_mode()
@flushing_denormals()
def code_quality(model: Autoencoder, train_split: Split, test_split: Split, *, seed: int = 0, k: int = K,
                 c: float = C, max_iter: int = MAX_ITER, max_train: int | None = MAX_TRAIN,
                 max_test: int | None = None, batch_size: int = 1024, pca: PCA | None = None) -> dict:
    """kNN and linear-probe accuracy on the model's codes, on PCA codes of the
    same size and on raw [0, 1] pixels; see the module docstring.

    Raises AekitError for an unlabelled split: a caller that reports on any
    dataset (`aekit evaluate`) checks `has_labels(train, test)` first and
    leaves the section out. `pca`: a PCA of `model.code_dim` components
    already fitted on the training split (else fitted here, on the whole split)."""
    if not has_labels(train_split, test_split):
        raise AekitError("code-quality probes need class labels, and this dataset has none: "
                         "use a labelled dataset (mnist, fashion-mnist, digits-sample, a folder of class folders)")
    if len(test_split) == 0:
        raise AekitError("code-quality probes need test images, and the split is empty")
    tr = subsample(len(train_split), max_train, seed)
    te = subsample(len(test_split), max_test, seed + 1)
    train_images, train_y = train_split.images[tr], train_split.labels[tr]
    test_images, test_y = test_split.images[te], test_split.labels[te]
    device = next(model.parameters()).device
    codes = {
        "model": (encode_images(model, train_images.to(device), batch_size).cpu(),
                  encode_images(model, test_images.to(device), batch_size).cpu()),
    }
    if model.code_dim <= train_images[0].numel():   # else no PCA of the code's size exists: the key is absent
        pca = pca if pca is not None and pca.k == model.code_dim else PCA(model.code_dim).fit(train_split.images)
        codes["pca"] = (pca.transform(train_images), pca.transform(test_images))
    codes["pixels"] = (train_images.flatten(1).to(torch.float64) / 255, test_images.flatten(1).to(torch.float64) / 255)
    out = {"k": k, "C": c, "max_iter": max_iter, "seed": seed, "code_dim": model.code_dim,
           "train_images": len(tr), "test_images": len(te)}
    for name, (x_train, x_test) in codes.items():
        out[name] = probe(x_train, train_y, x_test, test_y, k=k, c=c, max_iter=max_iter)
    return out
