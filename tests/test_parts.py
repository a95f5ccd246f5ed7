"""Unit tests of the parts: shapes, ranges, gradients, and the loss formulas
against direct computations."""


import pytest
import torch

from aekit.errors import ConfigError
from aekit.nn import BOTTLENECKS, DECODERS, ENCODERS, LIKELIHOODS, REGULARISERS
from aekit.nn.activations import make_activation
from aekit.nn.bottlenecks import gaussian_kl


def test_mlp_encoder_decoder_shapes_and_mirroring():
    enc_cfg = ENCODERS.build({"type": "mlp", "widths": [256, 128]}, "encoder")
    enc = enc_cfg.build((1, 28, 28))
    assert enc.out_features == 128
    dec = DECODERS.build({"type": "mlp"}, "decoder").build(20, (1, 28, 28), enc_cfg)
    linears = [m for m in dec.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(20, 128), (128, 256), (256, 784)]
    x = torch.rand(5, 1, 28, 28)
    assert enc(x).shape == (5, 128)
    assert dec(torch.randn(5, 20)).shape == (5, 1, 28, 28)


def test_mlp_dropout_and_batch_norm_layers_present():
    enc = ENCODERS.build({"type": "mlp", "widths": [64], "dropout": 0.3, "batch_norm": True}, "e").build((1, 8, 8))
    kinds = [type(m).__name__ for m in enc.net]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout"]


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "tanh", "sigmoid", "gelu", "identity"])
def test_activations_exist(name):
    out = make_activation(name, 0.3)(torch.linspace(-2, 2, 9))
    assert out.shape == (9,)


def test_unknown_activation_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown activation 'relu6'"):
        ENCODERS.build({"type": "mlp", "activation": "relu6"}, "model.encoder")


def test_bernoulli_nll_matches_direct_formula_and_is_stable():
    lik = LIKELIHOODS.build("bernoulli", "l").build((1, 4, 4))
    x = torch.rand(3, 1, 4, 4)
    logits = torch.randn(3, 1, 4, 4) * 3
    p = torch.sigmoid(logits)
    direct = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
    torch.testing.assert_close(lik.nll(x, logits), direct, rtol=1e-5, atol=1e-5)
    # Huge logits: the direct formula gives inf/nan, the stable one stays finite and exact.
    big = torch.full((1, 1, 4, 4), 200.0)
    ones, zeros = torch.ones_like(big), torch.zeros_like(big)
    assert lik.nll(ones, big).item() == pytest.approx(0.0, abs=1e-6)
    assert lik.nll(zeros, big).item() == pytest.approx(200.0 * 16, rel=1e-6)


def test_gaussian_likelihood_modes():
    x = torch.rand(2, 1, 3, 3)
    out = torch.randn(2, 1, 3, 3)
    sse = LIKELIHOODS.build({"type": "gaussian"}, "l").build(None)
    torch.testing.assert_close(sse.nll(x, out), ((x - out) ** 2).flatten(1).sum(1))
    assert sse.unit == "squared error"
    sigma = 0.5
    fixed = LIKELIHOODS.build({"type": "gaussian", "scale": sigma}, "l").build(None)
    expected = -torch.distributions.Normal(out, sigma).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(fixed.nll(x, out), expected, rtol=1e-5, atol=1e-5)
    learned = LIKELIHOODS.build({"type": "gaussian", "learn_scale": True}, "l").build(None)
    assert isinstance(learned.log_scale, torch.nn.Parameter)
    learned.nll(x, out).sum().backward()
    assert learned.log_scale.grad is not None and torch.isfinite(learned.log_scale.grad)


def test_gaussian_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mean = torch.randn(4, 3)
    logvar = torch.randn(4, 3) * 0.5
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    z = q.sample((200_000,))
    p = torch.distributions.Normal(0.0, 1.0)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    torch.testing.assert_close(gaussian_kl(mean, logvar), mc, rtol=0.02, atol=0.02)


def test_gaussian_bottleneck_reparameterises_and_mean_at_inference():
    bott = BOTTLENECKS.build({"type": "gaussian", "dim": 6}, "b").build(10)
    h = torch.randn(4, 10, requires_grad=True)
    code = bott(h, sample=True)
    assert code.z.shape == code.mean.shape == code.logvar.shape == (4, 6)
    assert not torch.equal(code.z, code.mean)
    code.z.sum().backward()
    assert h.grad is not None and h.grad.abs().sum() > 0
    assert torch.equal(bott(h, sample=False).z, bott(h, sample=False).mean)


def test_kl_warmup_weight():
    kl = REGULARISERS.build({"type": "kl", "beta": 4.0, "warmup_steps": 100}, "r").build()
    assert kl.weight_at(0) == 0.0
    assert kl.weight_at(50) == pytest.approx(2.0)
    assert kl.weight_at(1000) == 4.0


def test_deterministic_bottleneck_code_activation():
    bott = BOTTLENECKS.build({"type": "deterministic", "dim": 32, "activation": "relu"}, "b").build(784)
    code = bott(torch.randn(8, 784))
    assert code.z.min() >= 0 and code.z.shape == (8, 32)
    assert torch.equal(code.z, code.mean)
