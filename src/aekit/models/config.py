"""The model config: which part fills each slot of the pipeline

    x ─corruption─▶ encoder ─▶ bottleneck ─▶ decoder ─▶ likelihood(x | x̂)
                                    └── regularisers (KL, sparsity, critic ...)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aekit.errors import ConfigError
from aekit.nn import BOTTLENECKS, CORRUPTIONS, DECODERS, ENCODERS, LIKELIHOODS, REGULARISERS
from aekit.schema import tagged


@dataclass
class ModelConfig:
    # [C, H, W]; null means "take it from the training data".
    input_shape: list[int] | None = None
    # Pixels 0..255 map to [0, 1] ("unit") or [-1, 1] ("symmetric", for tanh outputs).
    data_range: Literal["unit", "symmetric"] = "unit"
    corruption: Any = tagged(CORRUPTIONS, "none")   # noise applied to the inputs while training (a denoiser); none by default
    encoder: Any = tagged(ENCODERS, {"type": "mlp"})   # image -> features
    bottleneck: Any = tagged(BOTTLENECKS, {"type": "deterministic"})   # features -> code (deterministic, or a Gaussian for a VAE)
    decoder: Any = tagged(DECODERS, {"type": "mlp"})   # code -> the likelihood's parameters, image-shaped
    likelihood: Any = tagged(LIKELIHOODS, "bernoulli")   # the reconstruction loss: bernoulli (BCE from logits) or gaussian (squared error)
    regularisers: list[Any] = field(default_factory=list, metadata={"registry_list": REGULARISERS})   # terms added to the loss: kl (a VAE), adversarial (an AAE), l1 (sparse codes)
    # Samples of z per image in the training objective. 1: the ELBO (one
    # sample, closed-form KL). k > 1: the importance-weighted bound of Burda
    # et al. (2016, "Importance Weighted Autoencoders"), tighter as k grows;
    # needs a stochastic code, a normalised likelihood and the KL regulariser
    # (whose beta and warm-up then weigh log p(z) - log q(z|x) inside the weights).
    importance_samples: int = 1

    def validate(self):
        if self.importance_samples < 1:
            raise ConfigError("importance_samples: must be a positive number of samples (1: the ELBO)")
        if self.importance_samples > 1:
            self._check_importance_weighted()
        if self.input_shape is not None and (len(self.input_shape) != 3 or min(self.input_shape) <= 0):
            raise ConfigError("input_shape: expected [channels, height, width], e.g. [1, 28, 28]")
        if type(self.likelihood).TYPE == "bernoulli" and self.data_range != "unit":
            raise ConfigError(
                "likelihood: bernoulli needs data_range 'unit' ([0, 1] pixels); use a gaussian likelihood for [-1, 1]"
            )

    def _check_importance_weighted(self):
        k = self.importance_samples
        if type(self.bottleneck).TYPE != "gaussian":
            raise ConfigError(f"importance_samples {k}: the importance-weighted bound needs a stochastic code: "
                              "set bottleneck.type to gaussian (or importance_samples to 1)")
        if not any(type(r).TYPE == "kl" for r in self.regularisers):
            raise ConfigError(f"importance_samples {k}: the bound weighs the prior against q(z|x) with the kl "
                              "regulariser's beta: add regularisers [{type: kl}]")
