"""aekit as a scikit-learn transformer: images in, codes out, in a Pipeline.

    from sklearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from aekit.sklearn import AutoencoderTransformer

    pipe = Pipeline([("ae", AutoencoderTransformer("fashion-ae", code_dim=16, epochs=5)),
                     ("clf", LogisticRegression(max_iter=500))])
    pipe.fit(X_train, y_train)          # X: [N, 784] floats in [0, 1] or uint8

`fit` trains a preset with aekit's one Trainer on X (all of it: no
validation split is held out, as scikit-learn's cross-validation does that);
`transform` gives the posterior mean codes, `inverse_transform` decodes them
back to images in X's layout, `score` is minus the mean squared error of the
reconstructions (higher is better, as scikit-learn expects of a score).

X is a batch of images: [N, D] flat rows (their `image_shape` [C, H, W]
given, or by default a square grey image when D is a square, else one row of
D pixels), [N, H, W] or [N, C, H, W]; pixels uint8 0..255 or floats in
[0, 1], or numbers in a stated `input_range` (images normalised to
[-1, 1], floats 0..255), mapped linearly onto [0, 1]. A problem with X
raises ValueError (scikit-learn's convention, and what its model-selection
tools catch); an unfitted estimator raises NotFittedError. This module
imports scikit-learn: `import aekit` does not. docs/sklearn.md has more.
"""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

try:   # scikit-learn 1.6 brought validate_data and the __sklearn_tags__ API used below
    from sklearn.utils.validation import validate_data
except ImportError:
    import sklearn

    raise ImportError(f"aekit.sklearn needs scikit-learn 1.6 or later, found {sklearn.__version__}: "
                      f"pip install -U scikit-learn") from None

from aekit.api import build_model, seed_everything
from aekit.apps.model import Model
from aekit.data.types import Split
from aekit.errors import AekitError
from aekit.training.callbacks import Callback
from aekit.training.config import resolve_config
from aekit.training.trainer import Trainer

_RANGE_FIX = "give pixels as uint8 0..255 or floats in [0, 1], or state their range with input_range=(low, high)"


class AutoencoderTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Train an aekit autoencoder on X; transform images to codes and back.

    preset: an aekit preset (`aekit presets`); its network, likelihood,
        optimiser and defaults are what is trained.
    code_dim: the code size (the preset's when None): ``model.bottleneck.dim``.
    epochs, batch_size, lr: training overrides (the preset's when None, but
        epochs defaults to 10 here, not the preset's full schedule).
    seed: fixes the initial weights and the batches: the same X and seed
        give the same codes. The caller's random streams are left as they were.
    sets: further ``key=value`` overrides, as ``aekit train --set``
        (``("model.encoder.widths=[64]",)``).
    device: "cpu", "cuda", ... (where the model trains and runs).
    image_shape: [C, H, W] of a flat row of X; None: a square grey image
        when the row length is a square, else [1, 1, D].
    input_range: (low, high), the range of X's values, mapped linearly onto
        the model's [0, 1] (and back by inverse_transform); None: uint8
        0..255 or floats in [0, 1]. Values outside it are refused, not clipped.
    verbose: print one line per epoch.

    Fitted attributes: `model_` (an `aekit.apps.model.Model`; its network is
    `model_.autoencoder`), `history_` (one dict of metrics per epoch),
    `n_features_in_`, `image_shape_` (C, H, W) and `code_dim_`; `get_feature_names_out()`
    names the codes.
    """

    def __init__(self, preset: str = "fashion-ae", code_dim: int | None = None, epochs: int = 10,
                 batch_size: int | None = None, lr: float | None = None, seed: int = 0, sets: Sequence[str] = (),
                 device: str = "cpu", image_shape: Sequence[int] | None = None,
                 input_range: tuple[float, float] | None = None, verbose: bool = False):
        # scikit-learn's rule: the constructor stores its arguments untouched; fit checks them.
        self.preset = preset
        self.code_dim = code_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.sets = sets
        self.device = device
        self.image_shape = image_shape
        self.input_range = input_range
        self.verbose = verbose

    # -- scikit-learn's estimator protocol ------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "AutoencoderTransformer":
        """Train on the images X (y is ignored: an autoencoder learns from X alone).
        A fit that fails leaves the transformer unfitted, not half the old model and half the new."""
        for key in [key for key in vars(self) if key.endswith("_") and not key.startswith("_")]:
            delattr(self, key)
        X = self._check_X(X, reset=True)
        images = _to_uint8(self._images(X))
        try:
            cfg = resolve_config(self.preset, overrides={
                "model.bottleneck.dim": self.code_dim, "train.epochs": self.epochs,
                "train.batch_size": self.batch_size, "train.lr": self.lr, "train.seed": self.seed,
                "train.device": self.device}, sets=list(self.sets or ()))
            with _own_random_state(self.seed), _threads_kept():
                model = build_model(cfg, self.image_shape_)
                empty = images[:0]   # no validation split: cross-validation holds data out itself
                trainer = Trainer(model, Split(images), Split(empty), cfg.train,
                                  [_EpochPrinter(cfg.train.epochs)] if self.verbose else [])
                history = trainer.fit()
        except AekitError as e:   # a bad preset, override or shape: scikit-learn's tools expect ValueError
            raise ValueError(f"{type(self).__name__}: {e}") from None
        self.model_ = Model(trainer.model.eval())
        self.history_ = history
        self.code_dim_ = self.model_.code_dim
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Codes float32 [N, code_dim]: the posterior mean (the deterministic code of a plain AE)."""
        check_is_fitted(self, "model_")
        images = self._images(self._check_X(X, reset=False))
        return np.asarray(self.model_.encode(images), dtype=np.float32)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Images decoded from codes [N, code_dim], in the layout X had in `fit`
        ([N, D] rows, [N, H, W] or [N, C, H, W]): float32 in [0, 1], or uint8
        when the training images were uint8; in `input_range` when one was given."""
        check_is_fitted(self, "model_")
        codes = check_array(X, dtype=np.float32, input_name="codes")
        if codes.shape[1] != self.code_dim_:
            raise ValueError(f"{type(self).__name__}.inverse_transform: codes have {codes.shape[1]} numbers "
                             f"per row; this model's code has {self.code_dim_} (give transform's output)")
        images = np.asarray(self.model_.decode(codes))
        if self.input_range_ is not None:   # the range fit saw, whatever set_params did since
            low, high = self.input_range_
            images = np.clip(images * np.float32(high - low) + np.float32(low), low, high).astype(np.float32)
        elif self.fitted_dtype_ == np.uint8:
            images = np.rint(images * 255).astype(np.uint8)
        return images.reshape((len(images), *self.fitted_layout_))

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the mean over images of Σ over pixels of (x - x̂)² on [0, 1] pixels:
        0 for perfect reconstructions, lower the worse (y is ignored)."""
        check_is_fitted(self, "model_")
        images = self._images(self._check_X(X, reset=False))
        return -float(np.mean(self.model_.anomaly_score(images)))

    @property
    def _n_features_out(self) -> int:
        """Codes' width: get_feature_names_out names them autoencodertransformer0, 1, ...
        (so `set_output(transform="pandas")` gives named columns)."""
        return self.code_dim_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        # y is ignored: fit learns from the images alone.
        tags.target_tags.required = False
        # Codes are float32 whatever the pixels' type (the network computes in float32).
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- checking X -------------------------------------------------------------------------
    def _check_X(self, X: Any, reset: bool) -> np.ndarray:
        """X as a numpy array of finite pixels: uint8 kept (without an input_range), anything else float32 in [0, 1]."""
        name = type(self).__name__
        if reset:
            self._check_params()
            self.input_range_ = _check_range(self.input_range, name)
        ranged = self.input_range_ is not None
        dtype = None if getattr(X, "dtype", None) == np.uint8 and not ranged else np.float64 if ranged else np.float32
        checks = dict(dtype=dtype, ensure_min_features=1, ensure_min_samples=1)
        if _ndim(X) <= 2:   # rows (a DataFrame's column names are recorded too)
            X = validate_data(self, X, reset=reset, **checks)
        else:
            # Image batches: validate_data records / checks n_features_in_ as the
            # pixels per image, on a flat view of the checked array.
            X = check_array(X, allow_nd=True, **checks)
            if X.ndim > 4:
                raise ValueError(f"{name}: X has shape {list(X.shape)}; give images as [N, D] rows, [N, H, W] "
                                 f"or [N, C, H, W]")
            X = validate_data(self, X.reshape(len(X), -1), reset=reset, **checks).reshape(X.shape)
        low, high = self.input_range_ or (0.0, 1.0)
        if X.dtype != np.uint8 and X.size and (X.min() < low or X.max() > high):
            raise ValueError(f"{name}: X holds values from {X.min():g} to {X.max():g}, outside [{low:g}, {high:g}]: "
                             f"{_RANGE_FIX}")
        if ranged:   # onto [0, 1] in float64, then float32 (clipped: rounding may step just outside)
            X = np.clip((X - low) / (high - low), 0.0, 1.0).astype(np.float32)
        if reset:
            self.fitted_layout_ = tuple(int(s) for s in X.shape[1:])
            self.fitted_dtype_ = X.dtype
            self.image_shape_ = _image_shape(X.shape[1:], self.image_shape, name)
        elif tuple(X.shape[1:]) != self.fitted_layout_:
            raise ValueError(f"{name}: X has images of shape {list(X.shape[1:])}; the model was fitted on "
                             f"{list(self.fitted_layout_)}")
        return X

    def _check_params(self) -> None:
        name = type(self).__name__
        for key in ("epochs", "code_dim", "batch_size"):
            value = getattr(self, key)
            if value is None and key != "epochs":
                continue
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {key} must be a positive integer, got {value!r}")
        if isinstance(self.sets, str):
            raise ValueError(f"{name}: sets must be a list of 'key=value' strings, got the string {self.sets!r}")

    def _images(self, X: np.ndarray) -> np.ndarray:
        """Checked X as the model's [N, C, H, W]: the Model API reads that layout unambiguously."""
        return X.reshape((len(X), *self.image_shape_))


def _image_shape(row: Sequence[int], given: Sequence[int] | None, name: str) -> tuple[int, int, int]:
    """(C, H, W) of one image of X, whose rows have shape `row` (X.shape[1:])."""
    row = tuple(int(s) for s in row)
    if len(row) == 3:
        shape = row
    elif len(row) == 2:
        shape = (1, *row)
    elif given is not None:
        shape = tuple(int(s) for s in given)
    elif math.isqrt(row[0]) ** 2 == row[0]:
        side = math.isqrt(row[0])
        shape = (1, side, side)
    else:
        shape = (1, 1, row[0])   # not a square: one row of pixels (an MLP preset takes it as it is)
    if given is not None and tuple(int(s) for s in given) != shape or len(shape) != 3:
        raise ValueError(f"{name}: image_shape {list(given or shape)} does not fit X's images of shape "
                         f"{list(row)}: give [C, H, W] with C*H*W = {math.prod(row)}")
    if math.prod(shape) != math.prod(row):
        raise ValueError(f"{name}: image_shape {list(shape)} holds {math.prod(shape)} pixels, but X's rows "
                         f"have {math.prod(row)}: give [C, H, W] with C*H*W = {math.prod(row)}")
    return shape


def _ndim(X: Any) -> int:
    """X's number of dimensions, without asking numpy's dispatch (array-likes may refuse it)."""
    ndim = getattr(X, "ndim", None)
    return int(ndim) if isinstance(ndim, (int, np.integer)) else np.asarray(X).ndim


def _check_range(given: Any, name: str) -> tuple[float, float] | None:
    if given is None:
        return None
    try:
        low, high = (float(v) for v in given)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{name}: input_range must be (low, high) with finite low < high, got {given!r}")
    return low, high


def _to_uint8(X: np.ndarray) -> torch.Tensor:
    """X's images as the data layer keeps every dataset: uint8 [N, C, H, W] (floats rounded to 1/255)."""
    pixels = X if X.dtype == np.uint8 else np.rint(X * np.float32(255)).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(pixels))


class _EpochPrinter(Callback):
    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        print(f"epoch {metrics['epoch']}/{self.epochs}  loss {metrics.get('train_loss', float('nan')):.4f}  "
              f"{metrics['seconds']:.1f} s", flush=True)


class _own_random_state:
    """Seed torch, numpy and Python's random streams for training, and put the caller's back after."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __enter__(self):
        self.saved = (random.getstate(), np.random.get_state(), torch.random.get_rng_state(),
                      torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None)
        seed_everything(self.seed)

    def __exit__(self, *exc):
        python, numpy, torch_cpu, cuda = self.saved
        random.setstate(python)
        np.random.set_state(numpy)
        torch.random.set_rng_state(torch_cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


class _threads_kept:
    """The Trainer sets torch's thread count for its run; the caller's comes back after."""

    def __enter__(self):
        self.threads = torch.get_num_threads()

    def __exit__(self, *exc):
        torch.set_num_threads(self.threads)
