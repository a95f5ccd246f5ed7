"""Every part honours the interface of its kind (aekit/nn/interfaces.py), a part
that does not is stopped when it is written, registered or built, and the KL
term takes its divergence from the bottleneck that drew the code."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

from aekit.api import build_model
from aekit.data import load_dataset
from aekit.errors import AekitError, ConfigError
from aekit.models import Autoencoder, ModelConfig
from aekit.nn import BOTTLENECKS, CORRUPTIONS, DECODERS, ENCODERS, LIKELIHOODS, PRIORS, REGULARISERS
from aekit.nn.bottlenecks import GaussianConfig, gaussian_kl
from aekit.nn.interfaces import (
    Bottleneck, Code, Corruption, CriticRegulariser, Decoder, Encoder, EncoderConfig, Likelihood, Prior,
    Regulariser, StochasticBottleneck,
)
from aekit.nn.regularisers import KLConfig
from aekit.training.config import resolve_config
from helpers import WidePriorConfig

SHAPE = (1, 28, 28)
CODE_DIM = 2     # the mixture prior needs at least 2


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """32 real digits in [0, 1] (the offline sample's test split)."""
    return load_dataset("digits-sample").test.images[:32].float() / 255


def preset_model(preset: str) -> Autoencoder:
    torch.manual_seed(0)
    return build_model(resolve_config(preset), SHAPE)


def gaussian_code(x: torch.Tensor) -> Code:
    torch.manual_seed(0)
    return GaussianConfig(dim=CODE_DIM).build(x[0].numel())(x.flatten(1))


# What each kind's parts must do with real images, beyond being of the right class.
def check_encoder(part, x):
    assert part(x).shape == (len(x), part.out_features)


def check_decoder(part, x):
    assert part(torch.randn(len(x), CODE_DIM)).shape == x.shape


def check_bottleneck(part, x):
    code = part(x.flatten(1))
    assert isinstance(code, Code) and code.z.shape == code.mean.shape == (len(x), part.dim)
    assert part.stochastic == isinstance(part, StochasticBottleneck)
    assert (code.bottleneck is part) == part.stochastic   # a stochastic code names the bottleneck that drew it


def check_likelihood(part, x):
    assert part.nll(x, torch.zeros_like(x)).shape == (len(x),) and part.unit in ("nats", "squared error")
    assert part.mean(torch.zeros_like(x)).shape == part.sample(torch.zeros_like(x)).shape == x.shape


def check_corruption(part, x):
    assert torch.equal(part.eval()(x), x)      # eval mode: the identity
    assert part.train()(x).shape == x.shape


def check_regulariser(part, x):
    assert part(gaussian_code(x)).shape == (len(x),) and isinstance(part.weight_at(0), float)


def check_prior(part, x):
    assert part.sample(len(x)).shape == (len(x), CODE_DIM)


KINDS = {   # registry: (interface, how its configs are built, what its parts must do)
    ENCODERS: (Encoder, lambda cfg: cfg.build(SHAPE), check_encoder),
    DECODERS: (Decoder, lambda cfg: cfg.build(CODE_DIM, SHAPE), check_decoder),
    BOTTLENECKS: (Bottleneck, lambda cfg: cfg.build(784), check_bottleneck),
    LIKELIHOODS: (Likelihood, lambda cfg: cfg.build(SHAPE), check_likelihood),
    CORRUPTIONS: (Corruption, lambda cfg: cfg.build((0.0, 1.0)), check_corruption),
    REGULARISERS: (Regulariser, lambda cfg: cfg.build(CODE_DIM), check_regulariser),
    PRIORS: (Prior, lambda cfg: cfg.build(CODE_DIM), check_prior),
}
REGISTERED = [(registry, tag) for registry in KINDS for tag in sorted(registry.kinds)]


@pytest.mark.parametrize("registry, tag", REGISTERED, ids=[f"{r.what}-{t}" for r, t in REGISTERED])
def test_every_registered_part_builds_an_object_of_its_interface(registry, tag, images):
    kind, build, check = KINDS[registry]
    config = registry.build({"type": tag}, registry.what)
    assert isinstance(config, registry.base)
    part = build(config)
    assert isinstance(part, kind), f"{registry.what} {tag!r} built a {type(part).__name__}"
    check(part, images)


def test_importing_aekit_nn_registers_every_part():
    # The test above covers what is registered; this pins that importing aekit.nn
    # registers every part (a module it forgot to import would drop out of both silently).
    assert {r.what: sorted(r.kinds) for r in KINDS} == {
        "encoder": ["conv", "mlp"], "decoder": ["conv", "mlp"], "bottleneck": ["deterministic", "gaussian"],
        "likelihood": ["bernoulli", "gaussian"],
        "corruption": ["dropout", "gaussian", "masking", "none", "salt_pepper"],
        "regulariser": ["adversarial", "kl", "l1"], "prior": ["gaussian", "mixture", "uniform"],
    }


def test_a_config_of_the_wrong_kind_cannot_be_registered():
    @dataclass
    class Loose:     # has a build, but states no interface
        def build(self, input_shape):
            return nn.Identity()

    with pytest.raises(TypeError, match="encoder 'loose': Loose must derive from EncoderConfig"):
        ENCODERS.register("loose")(Loose)
    assert "loose" not in ENCODERS.kinds


def test_a_build_that_returns_the_wrong_kind_of_part_is_one_line_naming_the_slot():
    @dataclass
    class IdentityEncoderConfig(EncoderConfig):
        def build(self, input_shape):
            return nn.Identity()     # not an Encoder: it has no out_features for the bottleneck

    with pytest.raises(AekitError, match=r"^model.encoder: IdentityEncoderConfig.build returned Identity, "
                                         r"which does not derive from aekit.nn.interfaces.Encoder"):
        Autoencoder(ModelConfig(input_shape=list(SHAPE), encoder=IdentityEncoderConfig()))


def test_a_stochastic_bottleneck_without_its_kl_cannot_be_made():
    class NoKL(StochasticBottleneck):
        def forward(self, h, sample=True):
            return Code(h, h, bottleneck=self)

    with pytest.raises(TypeError, match="abstract method.*kl"):
        NoKL()


def test_the_kl_term_is_torchs_gaussian_kl_on_real_codes(images):
    model = preset_model("vae-kingma")
    with model.evaluating():
        kl = model.loss(images).terms["kl"]
        code = model.bottleneck(model.encoder(images), sample=False)
    q = Normal(code.mean, torch.exp(0.5 * code.logvar))
    expected = kl_divergence(q, Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(kl, expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(kl, gaussian_kl(code.mean, code.logvar))   # the closed form, bitwise


def test_a_new_stochastic_bottleneck_gets_its_own_kl_not_the_standard_gaussians(images):
    torch.manual_seed(0)
    model = Autoencoder(ModelConfig(input_shape=list(SHAPE), bottleneck=WidePriorConfig(dim=8),
                                    regularisers=[KLConfig()]))
    with model.evaluating():
        kl = model.loss(images).terms["kl"]
        code = model.bottleneck(model.encoder(images), sample=False)
    torch.testing.assert_close(kl, model.bottleneck.kl(code))
    assert (kl - gaussian_kl(code.mean, code.logvar)).abs().min() > 0.1   # the N(0, I) formula would be wrong


def test_the_kl_term_refuses_a_deterministic_code(images):
    z = images.flatten(1)[:, :CODE_DIM]
    with pytest.raises(ConfigError, match="kl: the code is deterministic.*set bottleneck.type to gaussian"):
        KLConfig().build(CODE_DIM)(Code(z, z))


def test_the_adversarial_regulariser_declares_its_critic():
    aae = preset_model("aae")
    (adversarial,) = aae.regularisers
    assert isinstance(adversarial, CriticRegulariser) and adversarial.has_critic
    assert aae.critics() == [adversarial] and aae.critic_parameters()
    vae = preset_model("vae-kingma")
    assert not any(reg.has_critic for reg in vae.regularisers) and vae.critics() == []

    class NoCriticLoss(CriticRegulariser):   # claims a critic but cannot train it
        name = "broken"

        def weight_at(self, step):
            return 1.0

        def forward(self, code):
            return code.z.sum(-1)

    with pytest.raises(TypeError, match="abstract method.*critic_loss"):
        NoCriticLoss()
