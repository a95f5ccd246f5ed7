"""`aekit.load` and `Model`: a trained autoencoder that speaks the user's types.

    model = aekit.load("runs/fashion-ae-20261130-070000")
    codes = model.encode(images)            # the posterior mean; sample=True draws
    recon = model.reconstruct(images)       # same type, layout and range as `images`
    new = model.sample(16, seed=0)          # numpy float32 [16, C, H, W] in [0, 1]

Inputs are checked at the door (aekit/apps/inputs.py states the rules);
every call batches internally (`batch_size` images at a time), so it holds
one batch of floats however many images it is given. The network itself
stays reachable as `model.autoencoder` (an `aekit.Autoencoder`, a torch module).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from safetensors.torch import load_file

from aekit.apps import codes as code_space
from aekit.apps.inputs import Form, Images, read_codes, read_images
from aekit.apps.training_data import DataSource, data_source, require
from aekit.cpu import flushing_denormals
from aekit.errors import AekitError
from aekit.metrics.codes import encode_images
from aekit.metrics.reconstruction import reconstruct as reconstruct_unit
from aekit.models.autoencoder import Autoencoder
from aekit.rng import fixed_rng


def load(source: Any, device: str = "cpu", best: bool = False) -> "Model":
    """A trained model from a run folder (its model.safetensors, or
    best.safetensors with `best=True`), a model file pair (`x.safetensors`
    or `x.json`), a shipped pretrained model (`"pretrained:NAME"`, see
    `aekit pretrained`), or the `Run` that `aekit.train` returned."""
    from aekit.io.model_file import load_model, read_model_meta
    from aekit.io.resolve import resolve_model

    from aekit.api import Run

    if isinstance(source, Run) and best:   # the best epoch's weights are on disk only
        if source.dir is None:
            raise AekitError("aekit.load(run, best=True): this run saved no folder (save=False), so no best "
                             "weights: load it without best=True, or train with a folder (out=...)")
        source = source.dir
    if isinstance(source, Run):   # its model as it is in memory (a Run is also a path: its folder)
        meta = {"data": {"name": source.config.data.name}}
        return Model(source.model.to(device).eval(), source.dir, meta)
    if not isinstance(source, (str, os.PathLike)):
        raise AekitError(f"aekit.load: got {type(source).__name__}; give a run folder, a .safetensors model "
                         f"file, pretrained:NAME or the Run that aekit.train returned")
    found = resolve_model(source, "best" if best else "model")
    meta, weights = read_model_meta(found.weights)
    model = Model(load_model(weights, device), found.run_dir, meta)
    model.pretrained = found.pretrained
    if found.codes is not None:   # a pretrained model's training codes and scores: its jobs need no dataset
        shipped = load_file(str(found.codes))
        model.training_codes, model.training_scores = shipped["codes"], shipped.get("scores")
    return model


class Model:
    """A trained autoencoder with inputs and outputs in the user's types.

    Images in: numpy arrays, torch tensors, PIL images, image files, a
    folder, a .npy file, or a list of those; uint8 0..255 or floats in
    [0, 1]. Images out: the input's type, layout and range (uint8 in, uint8
    out); from files or PIL images, numpy as `numpy.asarray` would read them.
    Codes out: float32 [N, D] of the input's type ([D] for one image)."""

    batch_size = 1000

    def __init__(self, autoencoder: Autoencoder, run_dir: Path | None = None, meta: dict | None = None):
        self.autoencoder = autoencoder.eval()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.meta = meta or {}
        self._gaussian: code_space.FittedGaussian | None = None
        # Codes of training images shipped with a pretrained model (float32 [n, D]): they stand in
        # for the training split where a job needs training codes, so it runs without the dataset.
        self.training_codes: torch.Tensor | None = None
        self.training_scores: torch.Tensor | None = None   # and their anomaly scores (float64 [n])
        self.pretrained: str | None = None   # the name, for a model loaded as pretrained:NAME

    def __repr__(self) -> str:
        where = f", from {self.run_dir}" if self.run_dir else f", pretrained:{self.pretrained}" if self.pretrained else ""
        return f"Model({self.kind}, images {list(self.input_shape)}, code {self.code_dim}{where})"

    # -- what it is -------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.autoencoder.input_shape

    @property
    def code_dim(self) -> int:
        return self.autoencoder.code_dim

    @property
    def device(self) -> torch.device:
        return next(self.autoencoder.parameters()).device

    @property
    def kind(self) -> str:
        """"vae", "aae" or "ae": decides where `sample` draws from (aekit/apps/codes.py)."""
        return code_space.kind(self.autoencoder)

    @property
    def data(self) -> DataSource | None:
        """The data it was trained on, as its run folder or model file names it."""
        return data_source(self.run_dir, self.meta)

    def images(self, images: Any) -> Images:
        """`images` checked against this model (aekit/apps/inputs.py): what every method reads first."""
        return images if isinstance(images, Images) else read_images(images, self.input_shape)

    # -- the jobs' Python calls ---------------------------------------------------------
    def encode(self, images: Any, sample: bool = False, seed: int | None = None) -> Any:
        """Codes [N, D]: the deterministic code (a VAE's posterior mean). With
        `sample=True` a VAE draws z ~ q(z|x) (`seed` fixes the draw); a
        deterministic code has nothing to draw and comes back as it is."""
        batch = self.images(images)
        return batch.form.values(self._codes(batch, sample, seed))

    def decode(self, codes: Any) -> Any:
        """Images from codes [N, D] (or one code [D]): float32 [N, C, H, W] ([C, H, W]) in
        [0, 1], the likelihood's mean, as the codes' type (numpy or torch)."""
        z, form = read_codes(codes, self.code_dim)
        return form.images(self._decode(z))

    def reconstruct(self, images: Any) -> Any:
        """decode(encode(images)), in the images' own type, layout and range."""
        batch = self.images(images)
        return batch.form.images((recon for recon, _ in self._reconstructions(batch)), len(batch))

    def anomaly_score(self, images: Any) -> Any:
        """Per image, Σ over pixels of (x - x̂)² on [0, 1] pixels (float64 [N], or one number for one image)."""
        batch = self.images(images)
        return batch.form.values(torch.cat([err for _, err in self._reconstructions(batch)]))

    def reconstruct_and_score(self, images: Any) -> tuple[Any, Any]:
        """(reconstruct(images), anomaly_score(images)) from one pass over the images."""
        batch = self.images(images)
        errors = []

        def recons():
            for recon, err in self._reconstructions(batch):
                errors.append(err)
                yield recon

        images = batch.form.images(recons(), len(batch))
        return images, batch.form.values(torch.cat(errors))

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """`n` new images, float32 numpy [n, C, H, W] in [0, 1], decoded from codes drawn from
        the prior (`sample_source` says which; a plain AE's comes from its training codes).
        `seed` fixes them and leaves torch's global random state untouched."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise AekitError(f"sample: n must be a positive number of images, got {n!r}")
        z = self.sample_codes(int(n), seed)
        return self._decode(z).numpy()

    def sample_codes(self, n: int, seed: int | None = None) -> torch.Tensor:
        prior, _ = code_space.model_prior(self.autoencoder)
        gaussian = self.code_gaussian() if self.kind == "ae" else None
        with fixed_rng(seed, self.device) if seed is not None else contextlib.nullcontext():
            if prior is not None:   # drawn on the model's device
                return prior.sample(n).to("cpu", torch.float32)
            if gaussian is None:
                return torch.randn(n, self.code_dim)
            return gaussian.sample(n)

    @property
    def sample_source(self) -> str:
        """One sentence: where `sample` draws its codes from."""
        text = code_space.model_prior(self.autoencoder)[1]
        if self.kind == "ae" and self._gaussian is not None:
            text = text.replace("images' codes", f"images' codes ({self._gaussian.n} images)", 1)
        return text

    def code_gaussian(self, images: Any = None) -> code_space.FittedGaussian:
        """The Gaussian a plain AE samples from: fitted to the codes of `images`,
        or (by default) of its training split, found through its run folder
        (a pretrained model's shipped training codes); computed once per Model and kept."""
        if images is not None:
            self._gaussian = code_space.FittedGaussian.fit(self._codes(self.images(images), False, None))
        elif self._gaussian is None and self.training_codes is not None:
            self._gaussian = code_space.FittedGaussian.fit(self.training_codes)
        elif self._gaussian is None:
            train = require(self.data, "sampling from a plain autoencoder").load().train.images
            self._gaussian = code_space.FittedGaussian.fit(self._codes(self.images(train), False, None))
        return self._gaussian

    def interpolate(self, a: Any, b: Any, steps: int = 10, method: str = "linear") -> Any:
        """`steps` images from a to b (one image each) decoded along a path in
        code space: "linear", or "slerp" (spherical, for Gaussian codes). The
        ends are the reconstructions of a and b. Out: a batch of `steps` in
        a's type, layout and range."""
        if method not in ("linear", "slerp"):
            raise AekitError(f"interpolate: method {method!r} is unknown; use linear or slerp")
        ends = []
        for name, image in (("a", a), ("b", b)):
            batch = self.images(image)
            if len(batch) != 1:
                raise AekitError(f"interpolate: {name} must be one image, got a batch of {len(batch)}")
            ends.append(batch)
        za, zb = (self._codes(batch, False, None)[0] for batch in ends)
        form = ends[0].form
        form = Form(form.kind, form.layout if not form.single else "N" + form.layout, form.dtype, form.device)
        return form.images(self._decode(code_space.path(za, zb, int(steps), method)))

    # -- batched internals: CPU float tensors out ------------------------------------------
    def _chunks(self, batch: Images):
        for start in range(0, len(batch), self.batch_size):
            yield batch.chunk(start, start + self.batch_size, self.device)

    def _codes(self, batch: Images, sample: bool, seed: int | None) -> torch.Tensor:
        if not sample or not self.autoencoder.bottleneck.stochastic:
            return self._means(batch)
        with fixed_rng(seed, self.device) if seed is not None else contextlib.nullcontext():
            return torch.cat([self._draw(x) for x in self._chunks(batch)])

    # No autograd graph: encode runs at the forward pass's speed. no_grad, not inference_mode: the
    # codes go back to the user, who may feed them to the network with gradients on.
    @torch.no_grad()
    @flushing_denormals()
    def _means(self, batch: Images) -> torch.Tensor:
        return torch.cat([encode_images(self.autoencoder, x).cpu() for x in self._chunks(batch)])

    @torch.inference_mode()
    @flushing_denormals()
    def _draw(self, x: torch.Tensor) -> torch.Tensor:
        ae = self.autoencoder
        with ae.evaluating():
            return ae.bottleneck(ae.encoder(ae.preprocess(x)), sample=True).z.cpu()

    @torch.inference_mode()
    @flushing_denormals()
    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        ae = self.autoencoder
        with ae.evaluating():
            return torch.cat([ae.to_unit(ae.decode(z[i:i + self.batch_size].to(self.device))).cpu()
                              for i in range(0, len(z), self.batch_size)])

    def _reconstructions(self, batch: Images) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Per chunk: (reconstructions [b, C, H, W] in [0, 1], float64 Σ (x - x̂)² per image), on the CPU."""
        for x in self._chunks(batch):
            recon = reconstruct_unit(self.autoencoder, x, self.batch_size)
            unit = x.to("cpu", torch.float64)
            unit = unit / 255.0 if x.dtype == torch.uint8 else unit
            yield recon, (recon.to(torch.float64) - unit).pow(2).flatten(1).sum(1)
