"""The one autoencoder class: a composition of parts built from a ModelConfig.

Every job talks to this small interface: `encode`, `decode`, `forward`
(reconstruct) and `loss`. Variants differ only in the parts they are built
from, never in code here; what it asks of each part is stated once in
aekit/nn/interfaces.py, and each part is checked against it when built.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator, NamedTuple

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.models.config import ModelConfig
from aekit.nn.corruptions import NoCorruptionConfig
from aekit.nn.interfaces import (
    Bottleneck, Corruption, CriticRegulariser, Decoder, Encoder, Likelihood, Regulariser, StochasticBottleneck,
    build_part,
)
from aekit.schema import to_dict

# Models above this many parameters are refused before a weight is allocated:
# such a size comes from a preset meant for small images given large ones (vae-conv's
# dense output layer: 806M weights at 3x64x64, 13 GB to train with Adam), not a choice.
MAX_PARAMETERS = 100_000_000


class Loss(NamedTuple):
    total: torch.Tensor          # scalar to minimise: mean over images of the weighted sum
    terms: dict[str, torch.Tensor]  # each term per image [B], unweighted ("recon", "kl", ...)
    code: torch.Tensor | None = None   # the deterministic code of the encoder's input (a VAE's mean), [B, D]

    def accumulate(self, sums: dict[str, torch.Tensor], n: int) -> None:
        """Add this batch of `n` images to running sums kept on the device:
        "loss" (the total times n) and each term summed over the images."""
        sums["loss"] = sums.get("loss", 0) + self.total.detach() * n
        for name, value in self.terms.items():
            sums[name] = sums.get(name, 0) + value.detach().sum()


class Autoencoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.input_shape is None:
            raise ConfigError("model.input_shape is unknown: build the model from data or set it, e.g. [1, 28, 28]")
        if torch.get_default_device().type != "meta":
            _check_size(config)
        self.config = config
        self.input_shape = tuple(config.input_shape)
        low, high = (0.0, 1.0) if config.data_range == "unit" else (-1.0, 1.0)
        self.data_range = (low, high)
        self.corruption = build_part(config.corruption, Corruption, "model.corruption", self.data_range)
        self.encoder = build_part(config.encoder, Encoder, "model.encoder", self.input_shape)
        self.bottleneck = build_part(config.bottleneck, Bottleneck, "model.bottleneck", self.encoder.out_features)
        self.decoder = build_part(config.decoder, Decoder, "model.decoder",
                                  self.bottleneck.dim, self.input_shape, config.encoder)
        self.likelihood = build_part(config.likelihood, Likelihood, "model.likelihood", self.input_shape)
        self.regularisers = nn.ModuleList(
            build_part(r, Regulariser, f"model.regularisers[{i}]", self.bottleneck.dim)
            for i, r in enumerate(config.regularisers)
        )
        if config.importance_samples > 1 and self.likelihood.unit != "nats":
            raise ConfigError(
                f"importance_samples {config.importance_samples}: the importance-weighted bound needs a normalised "
                f"likelihood, and this one is {self.likelihood.unit}: use likelihood bernoulli, or gaussian with a "
                "scale (likelihood.scale or learn_scale: true)")
        for reg in self.regularisers:
            if reg.needs_stochastic and not self.bottleneck.stochastic:
                raise ConfigError(
                    f"regulariser {reg.name!r} needs a stochastic code: set bottleneck.type to gaussian"
                )

    @contextlib.contextmanager
    def evaluating(self) -> Iterator["Autoencoder"]:
        """Eval mode inside the block (no dropout; `loss` corrupts only if
        asked), the previous mode restored after it, whatever happens inside."""
        was_training = self.training
        self.eval()
        try:
            yield self
        finally:
            self.train(was_training)

    # -- data conversion -------------------------------------------------
    @property
    def code_dim(self) -> int:
        return self.bottleneck.dim

    @property
    def corrupts_input(self) -> bool:
        """Whether the model is trained on corrupted inputs (a denoiser)."""
        return not isinstance(self.config.corruption, NoCorruptionConfig)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 pixels [B, C, H, W] (as stored) → floats in the model's range."""
        if images.dtype == torch.uint8:
            x = images.to(torch.float32).div_(255.0)   # in place: the converted copy is ours
        else:
            x = images.to(torch.float32)
        low, high = self.data_range
        return x if (low, high) == (0.0, 1.0) else x * (high - low) + low

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Model-range images → [0, 1] for display and saving."""
        low, high = self.data_range
        return ((x - low) / (high - low)).clamp(0, 1)

    # -- the interface every job uses -------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic code (the mean for a stochastic bottleneck)."""
        return self.bottleneck(self.encoder(x), sample=False).mean

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Code → image (the likelihood's mean) in the model's data range."""
        return self.likelihood.mean(self.decoder(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor, step: int | None = None, corrupt: bool | None = None,
             samples: int | None = None) -> Loss:
        """The training objective on clean images `x` (model range).

        The corruption is applied to the encoder's input when `corrupt` (by
        default: in training mode); the likelihood always scores the clean
        image: that is what makes a denoising autoencoder denoise. Validation
        asks for the corruption in eval mode, to score a denoiser on its task.
        `samples` of z per image (default: the config's importance_samples):
        1 gives the ELBO's terms ("recon", "kl", ...), k > 1 the
        importance-weighted bound ("iw_bound": its negative, per image)."""
        corrupt = self.training if corrupt is None else corrupt
        samples = self.config.importance_samples if samples is None else samples
        # apply_noise, not the module's call: that is the identity in eval mode.
        x_in = self.corruption.apply_noise(x) if corrupt and self.corrupts_input else x
        if samples > 1:
            return self._importance_weighted_loss(x, x_in, step, samples)
        code = self.bottleneck(self.encoder(x_in), sample=True)
        recon = self._nll(x, self.decoder(code.z))
        terms = {"recon": recon}
        total = recon
        for reg in self.regularisers:
            value = reg(code)
            terms[reg.name] = value
            total = total + reg.weight_at(step) * value
        return Loss(total.mean(), terms, code.mean)

    def _importance_weighted_loss(self, x: torch.Tensor, x_in: torch.Tensor, step: int | None, k: int) -> Loss:
        """-log (1/k Σ_j p(x|z_j) p(z_j)^β / q(z_j|x)^β), z_j ~ q(z|x) reparameterised:
        the IWAE bound (β = 1), with the KL regulariser's β and warm-up
        weighing the prior against the posterior as they weigh the KL in the ELBO."""
        bottleneck = self.bottleneck
        if not isinstance(bottleneck, StochasticBottleneck):
            raise ConfigError("the importance-weighted bound needs a stochastic code: set bottleneck.type to gaussian")
        code = bottleneck(self.encoder(x_in), sample=False)
        z = bottleneck.sample_posterior(code, k)                                  # [B, k, D]
        out = self.decoder(z.reshape(-1, z.shape[-1]))
        log_px = -self._nll(x.unsqueeze(1), out.view(*z.shape[:2], *out.shape[1:]))   # [B, k]
        log_ratio = bottleneck.log_prior(z) - bottleneck.log_posterior(code, z)  # [B, k]
        terms, total, beta = {}, 0, 1.0
        for reg in self.regularisers:
            if reg.name == "kl":   # inside the weights
                beta = reg.weight_at(step)
                continue
            value = reg(code)
            terms[reg.name] = value
            total = total + reg.weight_at(step) * value
        bound = torch.logsumexp(log_px + beta * log_ratio, dim=1) - math.log(k)
        terms = {"iw_bound": -bound, **terms}
        return Loss((total - bound).mean(), terms, code.mean)

    def _nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The likelihood's -log p(x|out) per image, in fp32 even under bf16
        autocast (as the Gaussian code's densities; other regularisers' terms
        on a deterministic code are still computed in the autocast dtype): a bf16 sum over 784 pixels is good to ~0.4 % (0.5 nats at
        a loss of 92), coarser than the differences training follows, and the
        importance weights exponentiate it."""
        with torch.autocast(out.device.type, enabled=False):
            return self.likelihood.nll(x.float(), out.float())

    # -- adversarial critics (trained by the trainer with their own optimiser) --
    def critics(self) -> list[CriticRegulariser]:
        """Regularisers with a critic network (the adversarial autoencoder's
        discriminator). Their parameters are not the autoencoder's: the main
        optimiser must not touch them."""
        return [reg for reg in self.regularisers if reg.has_critic]

    def critic_parameters(self) -> list[nn.Parameter]:
        return [p for critic in self.critics() for p in critic.parameters()]

    def main_parameters(self) -> list[nn.Parameter]:
        exclude = {id(p) for p in self.critic_parameters()}
        return [p for p in self.parameters() if id(p) not in exclude]

    def critic_loss(self, x: torch.Tensor) -> torch.Tensor:
        """The critics' own objective on the codes of `x`; the encoder is held
        fixed (codes detached), only the critics learn from this loss."""
        with torch.no_grad():
            z = self.bottleneck(self.encoder(x), sample=True).z
        return sum(critic.critic_loss(z) for critic in self.critics())

    def describe(self) -> dict:
        return to_dict(self.config)


def parameter_count(config: ModelConfig) -> int:
    """The parameters `Autoencoder(config)` would have, counted on the meta
    device: no memory allocated, the random generators untouched."""
    with torch.device("meta"):
        return sum(p.numel() for p in Autoencoder(config).parameters())


def _check_size(config: ModelConfig) -> None:
    n = parameter_count(config)
    if n > MAX_PARAMETERS:
        shape = "x".join(str(d) for d in config.input_shape)
        raise ConfigError(
            f"model: {n / 1e6:,.0f}M parameters for {shape} images ({n * 16 / 1e9:,.1f} GB to train with Adam), "
            f"above aekit's limit of {MAX_PARAMETERS / 1e6:,.0f}M (aekit.models.autoencoder.MAX_PARAMETERS): "
            f"use conv-ae or conv-ae-10 (no dense output layer), or smaller images "
            f"(--set data.image_size=[32,32])")
