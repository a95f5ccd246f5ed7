"""Unit tests of the parts added for the autoencoder family: corruptions, conv
encoders/decoders, priors, the L1 and adversarial regularisers, and the
evaluation helpers (PSNR, MMD; PCA has test_pca.py). Shapes, ranges, statistics, gradients,
and values against torch's functions or a computation by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from aekit.errors import ConfigError
from aekit.metrics import mmd_rbf, psnr
from aekit.models import Autoencoder, ModelConfig
from aekit.nn import CORRUPTIONS, DECODERS, ENCODERS, PRIORS, REGULARISERS
from aekit.nn.bottlenecks import Code
from aekit.nn.conv import conv_shapes
from aekit.schema import from_dict, to_dict

UNIT, SYMMETRIC = (0.0, 1.0), (-1.0, 1.0)


def corruption(spec, data_range=UNIT):
    module = CORRUPTIONS.build(spec, "model.corruption").build(data_range)
    return module.train()


# -- corruptions -----------------------------------------------------------

def test_gaussian_noise_has_sigma_and_is_clipped_to_the_data_range():
    torch.manual_seed(0)
    x = torch.full((64, 1, 28, 28), 0.5)
    unclipped = corruption({"type": "gaussian", "sigma": 0.1, "clip": False})(x)
    assert (unclipped - x).std().item() == pytest.approx(0.1, rel=0.02)
    assert (unclipped - x).mean().abs().item() < 0.002
    clipped = corruption({"type": "gaussian", "sigma": 0.5})(x)
    assert clipped.min() == 0.0 and clipped.max() == 1.0      # σ=0.5 around 0.5 crosses both ends
    # σ is in [0, 1] pixel units: on [-1, 1] data the same setting is twice the spread.
    sym = corruption({"type": "gaussian", "sigma": 0.1, "clip": False}, SYMMETRIC)(torch.zeros(64, 1, 28, 28))
    assert sym.std().item() == pytest.approx(0.2, rel=0.02)
    assert corruption({"type": "gaussian", "sigma": 0.5}, SYMMETRIC)(torch.zeros(8, 1, 28, 28)).abs().max() <= 1.0
    # Values: x + σ·ε with ε from torch's global RNG, clamped to the range; with σ = 0.5
    # around 0.5, P(ε > 1) = 0.1587 of the pixels end at each limit.
    torch.manual_seed(1)
    y = corruption({"type": "gaussian", "sigma": 0.5})(x)
    torch.manual_seed(1)
    assert torch.equal(y, (x + 0.5 * torch.randn_like(x)).clamp(0, 1))
    assert (y == 0).float().mean().item() == pytest.approx(0.1587, abs=0.006)
    assert (y == 1).float().mean().item() == pytest.approx(0.1587, abs=0.006)


def test_masking_drops_fraction_p_to_background():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) * 0.9 + 0.1           # no pixel is already 0
    y = corruption({"type": "masking", "p": 0.3})(x)
    dropped = (y == 0)
    assert dropped.float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert torch.equal(y[~dropped], x[~dropped])         # survivors untouched
    ysym = corruption({"type": "masking", "p": 0.3}, SYMMETRIC)(x)
    assert (ysym == -1).float().mean().item() == pytest.approx(0.3, abs=0.005)


def test_salt_and_pepper_fractions():
    torch.manual_seed(0)
    x = torch.full((64, 1, 28, 28), 0.5)
    y = corruption({"type": "salt_pepper", "p": 0.2})(x)
    assert (y == 1).float().mean().item() == pytest.approx(0.1, abs=0.004)
    assert (y == 0).float().mean().item() == pytest.approx(0.1, abs=0.004)
    assert ((y == 0.5).float().mean().item()) == pytest.approx(0.8, abs=0.005)
    # On [-1, 1] data, salt is 1 and pepper -1.
    ysym = corruption({"type": "salt_pepper", "p": 0.2}, SYMMETRIC)(torch.zeros(64, 1, 28, 28))
    assert (ysym == 1).float().mean().item() == pytest.approx(0.1, abs=0.004)
    assert (ysym == -1).float().mean().item() == pytest.approx(0.1, abs=0.004)
    assert set(ysym.unique().tolist()) == {-1.0, 0.0, 1.0}


def test_input_dropout_rescales_survivors_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.full((64, 1, 28, 28), 0.4)
    y = corruption({"type": "dropout", "p": 0.25})(x)
    assert (y == 0).float().mean().item() == pytest.approx(0.25, abs=0.005)
    assert y[y > 0].unique().tolist() == pytest.approx([0.4 / 0.75])
    assert y.mean().item() == pytest.approx(0.4, rel=0.01)


@pytest.mark.parametrize("spec", [{"type": "gaussian"}, {"type": "masking"}, {"type": "salt_pepper"},
                                  {"type": "dropout"}])
def test_corruptions_apply_in_training_only_and_follow_the_global_seed(spec):
    module = corruption(spec)
    x = torch.rand(4, 1, 28, 28)
    torch.manual_seed(3)
    a = module(x)
    torch.manual_seed(3)
    b = module(x)
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert torch.equal(module.eval()(x), x)


def test_model_corrupts_the_input_only_while_training():
    cfg = from_dict(ModelConfig, {"input_shape": [1, 8, 8], "corruption": {"type": "masking", "p": 0.5},
                                  "encoder": {"type": "mlp", "widths": [16]}, "bottleneck": {"type": "deterministic", "dim": 4}}, "model")
    model = Autoencoder(cfg)
    x = torch.rand(16, 1, 8, 8)
    model.eval()
    assert torch.equal(model.loss(x).total, model.loss(x).total)     # deterministic: no corruption
    model.train()
    torch.manual_seed(0)
    first = model.loss(x).total
    assert not torch.equal(first, model.loss(x).total)               # a fresh mask each call


@pytest.mark.parametrize("spec, message", [
    ({"type": "masking", "p": 1.5}, "p: the fraction of pixels must be in"),
    ({"type": "gaussian", "sigma": -1}, "sigma: the noise level must be non-negative"),
    ({"type": "speckle"}, "unknown corruption 'speckle'"),
])
def test_bad_corruption_configs(spec, message):
    with pytest.raises(ConfigError, match=message):
        CORRUPTIONS.build(spec, "model.corruption")


# -- conv encoders and decoders ----------------------------------------------

KERAS_ENCODER = {"type": "conv", "layers": [
    {"filters": 8, "kernel": 3, "stride": s, "padding": "same"} for s in (2, 1, 2, 1)]}
KERAS_DECODER = {"type": "conv", "start": [64, 7, 7], "layers": [
    {"filters": 64, "padding": "same"}, {"upsample": 2}, {"filters": 32, "padding": "same"}, {"upsample": 2},
    {"filters": 1, "padding": "same"}]}


def test_conv_shape_arithmetic_of_the_pytorch_tutorial_on_28x28():
    # The tutorial's comments: 16x10x10, 16x5x5, 8x3x3, 8x2x2.
    cfg = ENCODERS.build({"type": "conv", "layers": [
        {"filters": 16, "kernel": 3, "stride": 3, "padding": 1}, {"pool": 2, "pool_stride": 2},
        {"filters": 8, "kernel": 3, "stride": 2, "padding": 1}, {"pool": 2, "pool_stride": 1}]}, "e")
    assert conv_shapes(cfg.layers, (1, 28, 28))[1:] == [(16, 10, 10), (16, 5, 5), (8, 3, 3), (8, 2, 2)]
    enc = cfg.build((1, 28, 28))
    assert enc.out_features == 32 and enc(torch.rand(3, 1, 28, 28)).shape == (3, 32)
    dec_cfg = DECODERS.build({"type": "conv", "start": [8, 2, 2], "project": False, "layers": [
        {"filters": 16, "kernel": 3, "stride": 2, "transpose": True},
        {"filters": 8, "kernel": 5, "stride": 3, "padding": 1, "transpose": True},
        {"filters": 1, "kernel": 2, "stride": 2, "padding": 1, "transpose": True}]}, "d")
    assert conv_shapes(dec_cfg.layers, (8, 2, 2))[1:] == [(16, 5, 5), (8, 15, 15), (1, 28, 28)]
    dec = dec_cfg.build(32, (1, 28, 28))
    assert dec(torch.randn(3, 32)).shape == (3, 1, 28, 28)
    assert not any(isinstance(m, torch.nn.Linear) for m in dec.modules())   # the code is the feature map
    # Values: the tutorial's layers written out with torch's functions.
    x, z = torch.rand(3, 1, 28, 28), torch.randn(3, 32)
    c1, c2 = [m for m in enc.convs if isinstance(m, torch.nn.Conv2d)]
    h = F.max_pool2d(F.relu(F.conv2d(x, c1.weight, c1.bias, stride=3, padding=1)), 2, stride=2)
    h = F.max_pool2d(F.relu(F.conv2d(h, c2.weight, c2.bias, stride=2, padding=1)), 2, stride=1)
    torch.testing.assert_close(enc(x), h.flatten(1))
    t1, t2, t3 = [m for m in dec.convs if isinstance(m, torch.nn.ConvTranspose2d)]
    h = F.relu(F.conv_transpose2d(z.view(3, 8, 2, 2), t1.weight, t1.bias, stride=2))
    h = F.relu(F.conv_transpose2d(h, t2.weight, t2.bias, stride=3, padding=1))
    torch.testing.assert_close(dec(z), F.conv_transpose2d(h, t3.weight, t3.bias, stride=2, padding=1))


def test_keras_same_padding_on_28x28_and_32x32x3():
    enc_cfg = ENCODERS.build(KERAS_ENCODER, "e")
    assert conv_shapes(enc_cfg.layers, (1, 28, 28))[-1] == (8, 7, 7)
    assert conv_shapes(enc_cfg.layers, (3, 32, 32))[-1] == (8, 8, 8)
    enc = enc_cfg.build((3, 32, 32))
    assert enc.out_features == 8 * 8 * 8 and enc(torch.rand(2, 3, 32, 32)).shape == (2, 512)
    dec28 = DECODERS.build(KERAS_DECODER, "d").build(10, (1, 28, 28))
    assert dec28(torch.randn(2, 10)).shape == (2, 1, 28, 28)
    rgb = dict(KERAS_DECODER, start=[64, 8, 8], layers=KERAS_DECODER["layers"][:-1] + [{"filters": 3, "padding": "same"}])
    dec32 = DECODERS.build(rgb, "d").build(10, (3, 32, 32))
    assert dec32(torch.randn(2, 10)).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_keras_same_padding_values_match_tf_by_hand(shape):
    # TF "same", stride 2, kernel 3 on an even size n: the output is n/2 and the total
    # padding (n/2 - 1)*2 + 3 - n = 1, put after the image (TF's rule); stride 1 pads 1 each side.
    enc = ENCODERS.build(KERAS_ENCODER, "e").build(shape)
    x = torch.rand(2, *shape)
    h = x
    for conv, stride in zip([m for m in enc.convs if isinstance(m, torch.nn.Conv2d)], (2, 1, 2, 1)):
        padded = F.pad(h, (0, 1, 0, 1)) if stride == 2 else F.pad(h, (1, 1, 1, 1))
        h = F.relu(F.conv2d(padded, conv.weight, conv.bias, stride=stride))
    torch.testing.assert_close(enc(x), h.flatten(1))
    # The decoder: Dense(7*7*64, relu), reshape, then conv / nearest upsampling, last conv raw.
    dec = DECODERS.build(KERAS_DECODER, "d").build(10, (1, 28, 28))
    z = torch.randn(2, 10)
    dense = dec.stem[0]
    h = F.relu(F.linear(z, dense.weight, dense.bias)).view(2, 64, 7, 7)
    convs = [m for m in dec.convs if isinstance(m, torch.nn.Conv2d)]
    h = F.interpolate(F.relu(F.conv2d(h, convs[0].weight, convs[0].bias, padding=1)), scale_factor=2, mode="nearest")
    h = F.interpolate(F.relu(F.conv2d(h, convs[1].weight, convs[1].bias, padding=1)), scale_factor=2, mode="nearest")
    torch.testing.assert_close(dec(z), F.conv2d(h, convs[2].weight, convs[2].bias, padding=1))


def test_transposed_same_padding_matches_tf_sizes_for_even_and_odd_kernels():
    for kernel in (2, 3, 4, 5):
        for stride in (1, 2):
            dec = DECODERS.build({"type": "conv", "start": [4, 7, 7], "layers": [
                {"filters": 1, "kernel": kernel, "stride": stride, "padding": "same", "transpose": True}]},
                "d").build(3, (1, 7 * stride, 7 * stride))
            z = torch.randn(2, 3)
            assert dec(z).shape == (2, 1, 7 * stride, 7 * stride), (kernel, stride)
            # TF's transposed "same" is the gradient of a "same" conv from 7*stride to 7: the
            # full output, (7-1)*stride + kernel, less max(kernel - stride, 0) rows and columns,
            # half of them (rounded down) from the start and the rest from the end.
            dense, tconv = dec.stem[0], next(m for m in dec.convs if isinstance(m, torch.nn.ConvTranspose2d))
            h = F.relu(F.linear(z, dense.weight, dense.bias)).view(2, 4, 7, 7)
            full = F.conv_transpose2d(h, tconv.weight, tconv.bias, stride=stride)
            start = max(kernel - stride, 0) // 2
            crop = full[..., start:start + 7 * stride, start:start + 7 * stride]
            torch.testing.assert_close(dec(z), crop, msg=f"kernel {kernel}, stride {stride}")
    enc = ENCODERS.build({"type": "conv", "layers": [{"filters": 2, "kernel": 4, "stride": 1, "padding": "same"}]},
                         "e").build((1, 28, 28))
    assert enc.out_features == 2 * 28 * 28
    # An even kernel pads unevenly: 3 in all, 1 before and 2 after (TF's rule).
    conv = next(m for m in enc.convs if isinstance(m, torch.nn.Conv2d))
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(enc(x), F.relu(F.conv2d(F.pad(x, (1, 2, 1, 2)), conv.weight, conv.bias)).flatten(1))


def test_conv_decoder_last_layer_is_raw_and_hidden_layers_get_bn_dropout():
    dec = DECODERS.build(dict(KERAS_DECODER, batch_norm=True, dropout=0.2), "d").build(10, (1, 28, 28))
    kinds = [type(m).__name__ for m in dec.convs]
    assert kinds[-1] == "Conv2d"                                    # logits for the likelihood
    assert kinds.count("BatchNorm2d") == 2 and kinds.count("Dropout") == 2
    enc = ENCODERS.build(dict(KERAS_ENCODER, activation="leaky_relu", slope=0.3), "e").build((1, 28, 28))
    acts = [m for m in enc.convs if isinstance(m, torch.nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.3 for a in acts)
    x = torch.rand(2, 1, 28, 28)
    first = next(m for m in enc.convs if isinstance(m, torch.nn.Conv2d))
    pre = F.conv2d(F.pad(x, (0, 1, 0, 1)), first.weight, first.bias, stride=2)
    torch.testing.assert_close(enc.convs[:3](x), torch.where(pre > 0, pre, 0.3 * pre))
    # Batch norm and dropout in the decoder's hidden layers: in eval mode, running
    # statistics (moved off their initial 0 / 1 by one training batch) and no dropout.
    dec.train()(torch.randn(8, 10))
    dec.eval()
    assert dec.convs[1].running_mean.abs().sum() > 0
    stem, conv, bn = dec.stem[0], dec.convs[0], dec.convs[1]
    z = torch.randn(2, 10)
    h = F.relu(F.linear(z, stem.weight, stem.bias)).view(2, 64, 7, 7)
    expected = F.relu(F.batch_norm(F.conv2d(h, conv.weight, conv.bias, padding=1), bn.running_mean, bn.running_var,
                                   bn.weight, bn.bias, training=False))
    torch.testing.assert_close(dec.convs[:4](h), expected)
    assert type(dec.convs[3]).__name__ == "Dropout"


def test_conv_gradients_reach_every_parameter():
    enc = ENCODERS.build(KERAS_ENCODER, "e").build((1, 28, 28))
    dec = DECODERS.build(KERAS_DECODER, "d").build(enc.out_features, (1, 28, 28))
    x = torch.rand(4, 1, 28, 28)
    ((dec(enc(x)) - x) ** 2).sum().backward()
    for name, p in list(enc.named_parameters()) + list(dec.named_parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_glorot_init_mirrors_keras_defaults():
    torch.manual_seed(0)
    dec = DECODERS.build(dict(KERAS_DECODER, init="glorot"), "d").build(10, (1, 28, 28))
    layers = [m for m in dec.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 4
    for m in layers:
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(m.weight)
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert m.weight.abs().max() <= bound and torch.all(m.bias == 0)
        # Uniform on [-bound, bound]: standard deviation bound / sqrt(3), i.e. sqrt(2 / (fan_in + fan_out)).
        if m.weight.numel() >= 10_000:
            assert m.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    torch_init = DECODERS.build(KERAS_DECODER, "d").build(10, (1, 28, 28))
    assert torch_init.stem[0].bias.abs().sum() > 0          # torch's default: non-zero biases


@pytest.mark.parametrize("spec, shape, message", [
    ({"type": "conv", "layers": [{"filters": 8, "kernel": 5, "stride": 2}] * 4}, (1, 28, 28),
     r"model.encoder.layers\[2\]: a 4x4 input shrinks to 0x0"),
    ({"type": "conv", "layers": [{"filters": 8, "pool": 2}]}, (1, 28, 28), "exactly one of"),
    ({"type": "conv", "layers": [{"upsample": 2}]}, (1, 28, 28), "not transposed convs or upsampling"),
])
def test_bad_conv_encoders_fail_with_one_line(spec, shape, message):
    with pytest.raises(ConfigError, match=message):
        ENCODERS.build(spec, "model.encoder").build(shape)


def test_conv_decoder_that_misses_the_image_size_is_a_config_error():
    with pytest.raises(ConfigError, match=r"turns \[64, 7, 7\] into \[1, 14, 14\], not the image shape \[1, 28, 28\]"):
        DECODERS.build(dict(KERAS_DECODER, layers=KERAS_DECODER["layers"][2:]), "d").build(10, (1, 28, 28))


def test_conv_config_round_trips_through_plain_data():
    cfg = ENCODERS.build(KERAS_ENCODER, "e")
    assert ENCODERS.build(to_dict(cfg), "e") == cfg


# -- priors --------------------------------------------------------------------

def test_mixture_prior_samples_sit_on_the_circle_in_equal_shares():
    torch.manual_seed(0)
    prior = PRIORS.build({"type": "mixture", "k": 10, "radius": 4.0, "std": 0.5}, "p").build(2)
    z = prior.sample(20_000)
    assert z.shape == (20_000, 2)
    assert z.norm(dim=1).mean().item() == pytest.approx(4.0, abs=0.1)
    shares = torch.bincount(prior.component(z), minlength=10).float() / len(z)
    assert shares.min() > 0.09 and shares.max() < 0.11
    assert (z - prior.centres[prior.component(z)]).std().item() == pytest.approx(0.5, abs=0.02)
    # The centres by hand: angle 2*pi*j/k on the circle of radius 4 in the first two
    # dimensions, 0 in the others, where every sample spreads as N(0, std^2).
    prior3 = PRIORS.build({"type": "mixture", "k": 4, "radius": 2.0, "std": 0.3}, "p").build(3)
    torch.testing.assert_close(prior3.centres, torch.tensor([[2.0, 0, 0], [0, 2.0, 0], [-2.0, 0, 0], [0, -2.0, 0]]))
    rest = prior3.sample(20_000)[:, 2]
    assert rest.mean().abs().item() < 0.01 and rest.std().item() == pytest.approx(0.3, rel=0.02)


def test_gaussian_and_uniform_priors():
    torch.manual_seed(0)
    g = PRIORS.build("gaussian", "p").build(5).sample(50_000)
    assert g.mean().abs().item() < 0.01 and g.std().item() == pytest.approx(1.0, abs=0.01)
    u = PRIORS.build({"type": "uniform", "low": -2, "high": 3}, "p").build(3).sample(50_000)
    assert u.min() >= -2 and u.max() <= 3 and u.mean().item() == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ConfigError, match="needs a code of at least 2 dimensions"):
        PRIORS.build("mixture", "p").build(1)


# -- regularisers ------------------------------------------------------------

def test_l1_activity_is_the_sum_of_absolute_code_values():
    reg = REGULARISERS.build({"type": "l1", "weight": 0.01}, "r").build(3)
    z = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, 0.5]], requires_grad=True)
    torch.testing.assert_close(reg(Code(z, z)), torch.tensor([3.0, 1.5]))
    assert reg.weight_at(10) == 0.01
    reg(Code(z, z)).sum().backward()
    torch.testing.assert_close(z.grad, torch.sign(z.detach()))


def test_adversarial_critic_learns_to_separate_and_encoder_loss_pushes_codes_to_the_prior():
    torch.manual_seed(0)
    reg = REGULARISERS.build({"type": "adversarial", "prior": {"type": "mixture", "k": 4}}, "r").build(2)
    assert reg.has_critic
    far = torch.randn(256, 2) * 0.3 + torch.tensor([8.0, 8.0])      # codes away from the prior's circle
    opt = torch.optim.Adam(reg.critic.parameters(), lr=1e-3)
    start = reg.critic_loss(far).item()
    assert start > 0.5
    for _ in range(200):
        opt.zero_grad()
        reg.critic_loss(far).backward()
        opt.step()
    assert reg.critic_loss(far).item() < 0.1
    # The generator loss is per image, positive, high for codes the critic rejects, and its
    # gradient moves the codes (the encoder's output), not only the critic.
    z = far.clone().requires_grad_(True)
    gen = reg(Code(z, z))
    assert gen.shape == (256,) and (gen > 1).all()
    # Values: the encoder's loss is -log D(z), the BCE of the critic's logit against "prior".
    logit = reg.logit(z.detach()).detach()
    torch.testing.assert_close(gen.detach(), F.binary_cross_entropy_with_logits(logit, torch.ones(256), reduction="none"))
    # The critic's loss: BCE of prior samples against 1 plus codes against 0, each averaged.
    torch.manual_seed(9)
    critic = reg.critic_loss(far)
    torch.manual_seed(9)
    real = reg.prior.sample(256)
    with torch.no_grad():
        expected = (F.binary_cross_entropy_with_logits(reg.logit(real), torch.ones(256))
                    + F.binary_cross_entropy_with_logits(reg.logit(far), torch.zeros(256)))
    torch.testing.assert_close(critic.detach(), expected)
    opt.zero_grad()
    gen.sum().backward()
    assert z.grad.abs().sum() > 0
    assert all(p.grad is None for p in reg.critic.parameters())      # the encoder's loss never trains D


def test_adversarial_autoencoder_keeps_critic_out_of_main_parameters():
    cfg = from_dict(ModelConfig, {"input_shape": [1, 8, 8], "encoder": {"type": "mlp", "widths": [16]},
                                  "bottleneck": {"type": "deterministic", "dim": 2},
                                  "regularisers": [{"type": "adversarial", "prior": "mixture"}]}, "model")
    model = Autoencoder(cfg)
    critic = {id(p) for p in model.critic_parameters()}
    assert critic and not critic & {id(p) for p in model.main_parameters()}
    x = torch.rand(8, 1, 8, 8)
    assert model.loss(x).terms["adversarial"].shape == (8,)
    assert torch.isfinite(model.critic_loss(x))
    # The priors hold no weights: a model file stays weights of real layers only.
    assert not any("prior" in k for k in model.state_dict())


def test_kl_needs_a_gaussian_bottleneck():
    cfg = from_dict(ModelConfig, {"input_shape": [1, 8, 8], "regularisers": ["kl"]}, "model")
    with pytest.raises(ConfigError, match="needs a stochastic code"):
        Autoencoder(cfg)


# -- evaluation helpers --------------------------------------------------------

def test_psnr_formula():
    clean = torch.zeros(2, 1, 4, 4)
    noisy = clean + 0.1                                  # MSE 0.01 → 20 dB
    assert psnr(clean, noisy) == pytest.approx(20.0)
    assert psnr(clean, clean + torch.tensor([0.1, 0.01]).view(2, 1, 1, 1)) == pytest.approx(30.0)
    assert psnr(clean * 255, noisy * 255, peak=255.0) == pytest.approx(20.0)     # the same on 0..255


def test_mmd_is_small_for_same_distribution_and_large_otherwise():
    torch.manual_seed(0)
    a, b = torch.randn(500, 2), torch.randn(500, 2)
    assert abs(mmd_rbf(a, b)) < 0.02
    assert mmd_rbf(a, b + 3) > 0.5


def test_mmd_matches_the_unbiased_estimator_by_hand():
    torch.manual_seed(1)
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64) + 0.5

    def k(a, b):
        d2 = float(((a - b) ** 2).sum())
        return sum(math.exp(-d2 / (2 * h * h)) for h in (0.5, 1.0, 2.0, 4.0))

    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / (6 * 5)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(5)) / (6 * 5)
    assert mmd_rbf(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-9)


# -- every preset builds, and its model file reloads to identical outputs ---------

@pytest.mark.parametrize("preset", ["conv-ae", "conv-ae-10", "vae-conv", "aae", "sparse-ae", "dae"])
def test_preset_models_round_trip_through_model_files(preset, tmp_path):
    from aekit.io import load_model, save_model
    from aekit.models.presets import get_preset

    torch.manual_seed(0)
    model = Autoencoder(from_dict(ModelConfig, {**get_preset(preset)["model"], "input_shape": [1, 28, 28]}, "model"))
    model.eval()
    save_model(model, tmp_path)
    again = load_model(tmp_path).eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    assert again.config == model.config


def test_new_parts_are_configurable_by_set_with_one_line_errors():
    from aekit.training.config import resolve_config

    cfg = resolve_config("dae", sets=["model.corruption={type: salt_pepper, p: 0.2}",
                                      "model.regularisers=[{type: l1, weight: 0.5}]"])
    assert type(cfg.model.corruption).TYPE == "salt_pepper" and cfg.model.corruption.p == 0.2
    assert cfg.model.regularisers[0].weight == 0.5
    cfg = resolve_config("aae", sets=["model.regularisers=[{type: adversarial, prior: {type: uniform, low: -2}}]"])
    assert cfg.model.regularisers[0].prior.low == -2.0
    with pytest.raises(ConfigError, match=r"model.encoder.layers\[0\]: a conv layer is exactly one of"):
        resolve_config("conv-ae-10", sets=["model.encoder.layers=[{filters: 8, pool: 2}]"])
    with pytest.raises(ConfigError, match=r"model.regularisers\[0\].prior.type: unknown prior 'laplace'"):
        resolve_config("aae", sets=["model.regularisers=[{type: adversarial, prior: laplace}]"])
