"""What each kind of part must offer: the one place the interfaces are stated.

Every part derives from its base here, and every part's config from the
config base of its kind, so a new part is checked when it is written (an
abstract method left out: the class cannot be instantiated) and when it is
registered (`TaggedRegistry(base=...)`), instead of failing later where a flag
was looked up with a default. The Autoencoder reads only what is declared here.

    x ─corruption─▶ encoder ─▶ bottleneck ─▶ decoder ─▶ likelihood(x | x̂)
                                    └── regularisers (KL, sparsity, critic ...)
                                             └── prior (what a critic matches)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, NamedTuple

import torch
from torch import nn

from aekit.errors import AekitError


# -- configs ------------------------------------------------------------------
class PartConfig(ABC):
    """The options of one part: a dataclass registered under a tag (`TYPE`),
    checked once by `validate` and turned into its part by `build`."""

    TYPE: ClassVar[str]   # set by the registry

    def validate(self) -> None:
        """Raise a ConfigError naming the bad option and the fix; the default accepts any values."""


def build_part(config: PartConfig, kind: type, where: str, *args):
    """`config.build(*args)`, checked to be a `kind` (e.g. Encoder): a config whose
    build returns the wrong kind of part is stopped here with one line, not deep
    inside the first forward pass."""
    part = config.build(*args)
    if not isinstance(part, kind):
        raise AekitError(
            f"{where}: {type(config).__name__}.build returned {type(part).__name__}, which does not derive "
            f"from aekit.nn.interfaces.{kind.__name__}: derive the part from that class"
        )
    return part


# -- corruption -----------------------------------------------------------------
class Corruption(nn.Module, ABC):
    """Noise on the encoder's input during training; the identity in eval mode."""

    def __init__(self, data_range: tuple[float, float]):
        super().__init__()
        self.low, self.high = data_range

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply_noise(x) if self.training else x

    @abstractmethod
    def apply_noise(self, x: torch.Tensor) -> torch.Tensor:
        """A corrupted copy of the model-range images `x` [B, C, H, W]."""


class CorruptionConfig(PartConfig):
    @abstractmethod
    def build(self, data_range: tuple[float, float]) -> Corruption: ...


# -- encoder and decoder --------------------------------------------------------
class Encoder(nn.Module, ABC):
    """Images [B, C, H, W] → features [B, out_features] for the bottleneck."""

    out_features: int

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor: ...


class EncoderConfig(PartConfig):
    @abstractmethod
    def build(self, input_shape: tuple[int, int, int]) -> Encoder: ...


class Decoder(nn.Module, ABC):
    """Codes [B, D] → the likelihood's raw output [B, C, H, W] (e.g. logits)."""

    @abstractmethod
    def forward(self, z: torch.Tensor) -> torch.Tensor: ...


class DecoderConfig(PartConfig):
    @abstractmethod
    def build(self, code_dim: int, output_shape: tuple[int, int, int],
              encoder_cfg: EncoderConfig | None = None) -> Decoder:
        """`encoder_cfg` lets a decoder mirror its encoder (e.g. the MLP's widths)."""


# -- bottleneck -------------------------------------------------------------------
class Code(NamedTuple):
    """What a bottleneck returns."""

    z: torch.Tensor                      # what the decoder sees in the loss (a sample when stochastic)
    mean: torch.Tensor                   # the deterministic code used at inference (encode, maps, codecs)
    logvar: torch.Tensor | None = None   # a Gaussian's log-variance
    # The stochastic bottleneck that drew `z` (None for a deterministic code):
    # the KL term asks it for the code's divergence from the prior, so each
    # kind of distribution brings its own divergence.
    bottleneck: StochasticBottleneck | None = None


class Bottleneck(nn.Module, ABC):
    """Encoder features [B, F] → a `Code` of `dim` numbers per image."""

    dim: int
    stochastic: ClassVar[bool] = False

    @abstractmethod
    def forward(self, h: torch.Tensor, sample: bool = True) -> Code:
        """`sample=False`: z is the mean (inference)."""


class StochasticBottleneck(Bottleneck):
    """A bottleneck that draws z from q(z|x); its Codes name it (`Code.bottleneck`)."""

    stochastic: ClassVar[bool] = True

    @abstractmethod
    def kl(self, code: Code) -> torch.Tensor:
        """KL(q(z|x) || p(z)) per image [B], in nats, for a Code this bottleneck returned."""

    # The importance-sampled NLL (aekit.metrics.nll) needs q and p as densities,
    # not only their divergence. It checks them against `kl` on the draws it
    # makes, so a bottleneck that changes its prior in `kl` alone is refused
    # there rather than scored against the wrong p(z).
    @abstractmethod
    def sample_posterior(self, code: Code, n: int) -> torch.Tensor:
        """n draws of z from q(z|x) for each image of `code`, [B, n, dim], from
        torch's global RNG (so a seed fixes them)."""

    @abstractmethod
    def log_posterior(self, code: Code, z: torch.Tensor) -> torch.Tensor:
        """log q(z|x) in nats, [B, n], of codes z [B, n, dim] under each image's posterior."""

    @abstractmethod
    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) in nats, [...], of codes z [..., dim], for the prior that `kl` measures against."""


class BottleneckConfig(PartConfig):
    @abstractmethod
    def build(self, in_features: int) -> Bottleneck: ...


# -- likelihood ---------------------------------------------------------------------
class Likelihood(nn.Module, ABC):
    """p(x | decoder output): one definition of reconstruction error, used by
    the loss, the ELBO, the NLL estimate and anomaly scores alike."""

    # of `nll`: "nats" (a normalised log-density: an NLL can be estimated) or
    # "squared error" (a loss, not a density)
    unit: str
    needs_unit_range: ClassVar[bool]     # True: the data must lie in [0, 1]

    @abstractmethod
    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """-log p(x | out), summed over the pixels (the last three dims [C, H, W]):
        [B] for x and out [B, C, H, W]. x broadcasts against out, so S decodings
        of each image score at once: x [B, 1, C, H, W], out [B, S, C, H, W] -> [B, S]."""

    @abstractmethod
    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The image the raw output stands for, in the data's range."""

    @abstractmethod
    def sample(self, out: torch.Tensor) -> torch.Tensor:
        """An image drawn from p(x | out)."""


class LikelihoodConfig(PartConfig):
    @abstractmethod
    def build(self, shape: tuple[int, int, int] | None) -> Likelihood: ...


# -- regularisers ---------------------------------------------------------------------
class Regulariser(nn.Module, ABC):
    """An extra loss term on the code, per image [B] in the reconstruction's
    unit, weighted by `weight_at(step)` (which lets a term warm up)."""

    name: ClassVar[str]                        # its key in Loss.terms and metrics
    needs_stochastic: ClassVar[bool] = False   # True: only a StochasticBottleneck's codes make sense
    has_critic: ClassVar[bool] = False         # True: a CriticRegulariser
    names_prior: ClassVar[bool] = False        # True: it pulls the codes towards a prior, stated by `log_prior`

    @abstractmethod
    def weight_at(self, step: int | None) -> float: ...

    @abstractmethod
    def forward(self, code: Code) -> torch.Tensor: ...

    def log_prior(self, z: torch.Tensor, bottleneck: Bottleneck) -> torch.Tensor:
        """log p(z) in nats, [...], of codes z [..., dim] of `bottleneck`, for
        the prior this term pulls the codes towards (where `names_prior`): the
        p(z) that the importance-sampled NLL scores the model against."""
        raise NotImplementedError(f"{type(self).__name__} names no prior")


class CriticRegulariser(Regulariser):
    """A regulariser with its own network (`critic`), trained by the trainer
    with its own optimiser on `critic_loss`; the main optimiser never sees it."""

    has_critic: ClassVar[bool] = True
    critic: nn.Module

    @abstractmethod
    def critic_loss(self, z: torch.Tensor) -> torch.Tensor:
        """The critic's scalar loss on (detached) codes `z`."""


class RegulariserConfig(PartConfig):
    @abstractmethod
    def build(self, code_dim: int) -> Regulariser: ...


# -- priors -----------------------------------------------------------------------------
class Prior(nn.Module, ABC):
    """p(z) over codes of `dim` numbers. Holds no parameters; a module so it
    moves with the model (`.to`), which `device` follows."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.register_buffer("_device_probe", torch.zeros(()), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._device_probe.device

    @abstractmethod
    def sample(self, n: int) -> torch.Tensor:
        """n codes [n, dim] from torch's global RNG (so a seed fixes them)."""

    @abstractmethod
    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) in nats, [...], of codes z [..., dim]."""


class PriorConfig(PartConfig):
    @abstractmethod
    def build(self, dim: int) -> Prior: ...
