"""Unit tests of the parts: shapes, ranges, gradients, and values against
torch's own functions, torch.distributions, or a computation by hand."""


import pytest
import torch
import torch.nn.functional as F

from aekit.errors import ConfigError
from aekit.nn import BOTTLENECKS, DECODERS, ENCODERS, LIKELIHOODS, REGULARISERS
from aekit.nn.activations import ACTIVATIONS, make_activation
from aekit.nn.bottlenecks import Code, gaussian_kl


def test_mlp_encoder_decoder_shapes_and_mirroring():
    enc_cfg = ENCODERS.build({"type": "mlp", "widths": [256, 128]}, "encoder")
    enc = enc_cfg.build((1, 28, 28))
    assert enc.out_features == 128
    dec = DECODERS.build({"type": "mlp"}, "decoder").build(20, (1, 28, 28), enc_cfg)
    linears = [m for m in dec.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(20, 128), (128, 256), (256, 784)]
    x, z = torch.rand(5, 1, 28, 28), torch.randn(5, 20)
    assert enc(x).shape == (5, 128)
    assert dec(z).shape == (5, 1, 28, 28)
    # Values: the layers composed by hand with torch's functions (ReLU between layers,
    # the decoder's last layer raw: logits for the likelihood).
    w = [m for m in enc.net if isinstance(m, torch.nn.Linear)]
    expected = F.relu(F.linear(F.relu(F.linear(x.flatten(1), w[0].weight, w[0].bias)), w[1].weight, w[1].bias))
    torch.testing.assert_close(enc(x), expected)
    h = z
    for i, m in enumerate(linears):
        h = F.linear(h, m.weight, m.bias)
        h = F.relu(h) if i < len(linears) - 1 else h
    torch.testing.assert_close(dec(z), h.view(5, 1, 28, 28))
    assert dec(z).min() < 0                              # no activation after the last layer


def test_mlp_dropout_and_batch_norm_layers_present_and_compute_as_torch():
    enc = ENCODERS.build({"type": "mlp", "widths": [64], "dropout": 0.3, "batch_norm": True}, "e").build((1, 8, 8))
    kinds = [type(m).__name__ for m in enc.net]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout"]
    _, linear, bn, _, _ = enc.net
    x = torch.rand(256, 1, 8, 8)
    pre = F.linear(x.flatten(1), linear.weight, linear.bias)
    # Training: batch statistics, then dropout of 30 % with survivors scaled by 1 / 0.7.
    running_mean, running_var = bn.running_mean.clone(), bn.running_var.clone()
    normed = F.relu(F.batch_norm(pre, running_mean, running_var, bn.weight, bn.bias, training=True))
    torch.manual_seed(0)
    out = enc.train()(x)
    torch.manual_seed(0)
    torch.testing.assert_close(out, F.dropout(normed, 0.3, training=True))
    dropped = (out == 0) & (normed != 0)
    assert dropped.sum().item() / (normed != 0).sum().item() == pytest.approx(0.3, abs=0.02)
    torch.testing.assert_close(out[out != 0], normed[out != 0] / 0.7)
    torch.testing.assert_close(bn.running_mean, running_mean)         # the running statistics moved alike
    # Evaluation: running statistics, no dropout.
    expected = F.relu(F.batch_norm(pre, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False))
    torch.testing.assert_close(enc.eval()(x), expected)


TORCH_ACTIVATIONS = {
    "relu": torch.relu, "leaky_relu": lambda x: F.leaky_relu(x, 0.3), "elu": F.elu, "tanh": torch.tanh,
    "sigmoid": torch.sigmoid, "gelu": F.gelu, "identity": lambda x: x, "none": lambda x: x, "linear": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(TORCH_ACTIVATIONS))
def test_activations_match_torchs_functions(name):
    x = torch.linspace(-3, 3, 61)
    out = make_activation(name, 0.3)(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, TORCH_ACTIVATIONS[name](x), rtol=0, atol=0)
    assert set(ACTIVATIONS) <= set(TORCH_ACTIVATIONS)                   # every named activation is checked


def test_leaky_relu_slope_by_hand():
    x = torch.tensor([-2.0, -0.5, 0.0, 1.5])
    torch.testing.assert_close(make_activation("leaky_relu", 0.3)(x), torch.tensor([-0.6, -0.15, 0.0, 1.5]))
    torch.testing.assert_close(make_activation("leaky_relu")(x), torch.tensor([-0.02, -0.005, 0.0, 1.5]))


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
    per_image = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    torch.testing.assert_close(lik.nll(x, logits), per_image)
    torch.testing.assert_close(lik.mean(logits), torch.sigmoid(logits))
    # Huge logits: the direct formula gives inf/nan, the stable one stays finite and exact.
    big = torch.full((1, 1, 4, 4), 200.0)
    ones, zeros = torch.ones_like(big), torch.zeros_like(big)
    assert lik.nll(ones, big).item() == pytest.approx(0.0, abs=1e-6)
    assert lik.nll(zeros, big).item() == pytest.approx(200.0 * 16, rel=1e-6)


def test_bernoulli_samples_are_binary_with_the_sigmoid_probabilities():
    lik = LIKELIHOODS.build("bernoulli", "l").build((1, 4, 4))
    logits = torch.tensor([-2.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(20_000, 3, 1, 1)
    torch.manual_seed(0)
    draws = lik.sample(logits)
    assert set(draws.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(draws.mean(0).flatten(), torch.sigmoid(torch.tensor([-2.0, 0.0, 1.0])),
                               rtol=0, atol=0.015)


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
    learned = LIKELIHOODS.build({"type": "gaussian", "learn_scale": True, "scale": 0.2}, "l").build(None)
    assert isinstance(learned.log_scale, torch.nn.Parameter)
    torch.testing.assert_close(learned.nll(x, out), -torch.distributions.Normal(out, 0.2).log_prob(x).flatten(1).sum(1))
    learned.nll(x, out).sum().backward()
    # d/dlogσ of Σ_images [½ sq e^(-2 logσ) + D logσ + const] = Σ_images (D - sq / σ²).
    sq = ((x - out) ** 2).flatten(1).sum(1)
    torch.testing.assert_close(learned.log_scale.grad, (9 - sq / 0.04).sum())
    # With an activation, the mean is act(out), and samples spread by σ around it.
    sig = LIKELIHOODS.build({"type": "gaussian", "activation": "sigmoid", "scale": 0.5}, "l").build(None)
    torch.testing.assert_close(sig.mean(out), torch.sigmoid(out))
    expected = -torch.distributions.Normal(torch.sigmoid(out), 0.5).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(sig.nll(x, out), expected, rtol=1e-5, atol=1e-5)
    torch.manual_seed(0)
    centre = torch.zeros(10_000, 1, 3, 3)
    noise = sig.sample(centre) - 0.5                       # sigmoid(0) = 0.5
    assert noise.std().item() == pytest.approx(0.5, rel=0.02) and noise.mean().abs().item() < 0.01


def test_gaussian_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mean = torch.randn(4, 3)
    logvar = torch.randn(4, 3) * 0.5
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    z = q.sample((200_000,))
    p = torch.distributions.Normal(0.0, 1.0)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    torch.testing.assert_close(gaussian_kl(mean, logvar), mc, rtol=0.02, atol=0.02)
    exact = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(gaussian_kl(mean, logvar), exact)
    kl = REGULARISERS.build("kl", "r").build()
    gaussian = BOTTLENECKS.build({"type": "gaussian", "dim": 3}, "b").build(10)
    torch.testing.assert_close(kl(Code(mean, mean, logvar, gaussian)), exact)   # the regulariser is this KL


def test_gaussian_bottleneck_reparameterises_and_mean_at_inference():
    bott = BOTTLENECKS.build({"type": "gaussian", "dim": 6}, "b").build(10)
    h = torch.randn(4, 10, requires_grad=True)
    code = bott(h, sample=True)
    assert code.z.shape == code.mean.shape == code.logvar.shape == (4, 6)
    assert not torch.equal(code.z, code.mean)
    code.z.sum().backward()
    assert h.grad is not None and h.grad.abs().sum() > 0
    assert torch.equal(bott(h, sample=False).z, bott(h, sample=False).mean)
    # Values: mean and log-variance are the two halves of one linear layer's output,
    # z = mean + exp(logvar / 2) * eps with eps from torch's global RNG.
    mean, logvar = F.linear(h, bott.linear.weight, bott.linear.bias).chunk(2, dim=-1)
    torch.manual_seed(5)
    code = bott(h, sample=True)
    torch.manual_seed(5)
    eps = torch.randn(4, 6)
    torch.testing.assert_close(code.mean, mean)
    torch.testing.assert_close(code.logvar, logvar)
    torch.testing.assert_close(code.z, mean + torch.exp(0.5 * logvar) * eps)
    # Statistics: many draws for one input have that mean and standard deviation.
    with torch.no_grad():
        draws = bott(h[:1].detach().expand(50_000, 10), sample=True).z
    torch.testing.assert_close(draws.mean(0), mean[0].detach(), rtol=0, atol=0.05)
    torch.testing.assert_close(draws.std(0), torch.exp(0.5 * logvar[0]).detach(), rtol=0.02, atol=0)


def test_kl_warmup_weight():
    kl = REGULARISERS.build({"type": "kl", "beta": 4.0, "warmup_steps": 100}, "r").build()
    assert kl.weight_at(0) == 0.0
    assert kl.weight_at(50) == pytest.approx(2.0)
    assert kl.weight_at(1000) == 4.0


def test_deterministic_bottleneck_code_activation():
    bott = BOTTLENECKS.build({"type": "deterministic", "dim": 32, "activation": "relu"}, "b").build(784)
    h = torch.randn(8, 784)
    code = bott(h)
    assert code.z.min() >= 0 and code.z.shape == (8, 32)
    assert torch.equal(code.z, code.mean)
    torch.testing.assert_close(code.z, F.relu(F.linear(h, bott.linear.weight, bott.linear.bias)))
    plain = BOTTLENECKS.build({"type": "deterministic", "dim": 32}, "b").build(784)
    torch.testing.assert_close(plain(h).z, F.linear(h, plain.linear.weight, plain.linear.bias))
    # linear: false passes the encoder's features through as the code.
    identity = BOTTLENECKS.build({"type": "deterministic", "dim": 784, "linear": False}, "b").build(784)
    assert torch.equal(identity(h).z, h)
