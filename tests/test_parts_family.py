"""Unit tests of the parts added for the autoencoder family: corruptions, conv
encoders/decoders, priors, the L1 and adversarial regularisers, and the
evaluation helpers (PCA, PSNR, MMD). Shapes, ranges, statistics, gradients."""

import math

import pytest
import torch

from aekit.errors import ConfigError
from aekit.evaluate import PCA, mmd_rbf, psnr
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


def test_transposed_same_padding_matches_tf_sizes_for_even_and_odd_kernels():
    for kernel in (2, 3, 4, 5):
        for stride in (1, 2):
            dec = DECODERS.build({"type": "conv", "start": [4, 7, 7], "layers": [
                {"filters": 1, "kernel": kernel, "stride": stride, "padding": "same", "transpose": True}]},
                "d").build(3, (1, 7 * stride, 7 * stride))
            assert dec(torch.randn(2, 3)).shape == (2, 1, 7 * stride, 7 * stride), (kernel, stride)
    enc = ENCODERS.build({"type": "conv", "layers": [{"filters": 2, "kernel": 4, "stride": 1, "padding": "same"}]},
                         "e").build((1, 28, 28))
    assert enc.out_features == 2 * 28 * 28


def test_conv_decoder_last_layer_is_raw_and_hidden_layers_get_bn_dropout():
    dec = DECODERS.build(dict(KERAS_DECODER, batch_norm=True, dropout=0.2), "d").build(10, (1, 28, 28))
    kinds = [type(m).__name__ for m in dec.convs]
    assert kinds[-1] == "Conv2d"                                    # logits for the likelihood
    assert kinds.count("BatchNorm2d") == 2 and kinds.count("Dropout") == 2
    enc = ENCODERS.build(dict(KERAS_ENCODER, activation="leaky_relu", slope=0.3), "e").build((1, 28, 28))
    acts = [m for m in enc.convs if isinstance(m, torch.nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.3 for a in acts)


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
        assert m.weight.abs().max() <= math.sqrt(6 / (fan_in + fan_out)) and torch.all(m.bias == 0)
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

def test_pca_is_exact_with_all_components_and_optimal_on_a_plane():
    torch.manual_seed(0)
    data = torch.rand(500, 1, 4, 4)
    full = PCA(16).fit(data)
    torch.testing.assert_close(full.reconstruct(data), data.to(torch.float64), atol=1e-9, rtol=0)
    # Points on a 2-d plane in 16-d: two components reconstruct them exactly, one does not.
    basis = torch.linalg.qr(torch.randn(16, 2))[0].T
    plane = (torch.randn(300, 2) @ basis + 0.5).view(300, 1, 4, 4)
    assert (PCA(2).fit(plane).reconstruct(plane) - plane).abs().max() < 1e-6   # float32 input
    assert (PCA(1).fit(plane).reconstruct(plane) - plane).abs().max() > 1e-2


def test_pca_uint8_images_are_scaled_to_unit_range():
    images = torch.randint(0, 256, (100, 1, 3, 3), dtype=torch.uint8)
    pca = PCA(9).fit(images)
    assert pca.mean.max() <= 1.0
    torch.testing.assert_close(pca.reconstruct(images), images.double() / 255, atol=1e-9, rtol=0)


def test_psnr_formula():
    clean = torch.zeros(2, 1, 4, 4)
    noisy = clean + 0.1                                  # MSE 0.01 → 20 dB
    assert psnr(clean, noisy) == pytest.approx(20.0)
    assert psnr(clean, clean + torch.tensor([0.1, 0.01]).view(2, 1, 1, 1)) == pytest.approx(30.0)


def test_mmd_is_small_for_same_distribution_and_large_otherwise():
    torch.manual_seed(0)
    a, b = torch.randn(500, 2), torch.randn(500, 2)
    assert abs(mmd_rbf(a, b)) < 0.02
    assert mmd_rbf(a, b + 3) > 0.5


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
    from aekit.train.config import resolve_config

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
