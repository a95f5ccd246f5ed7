"""The VAE presets train briefly on real data: the ELBO on test images
improves over the untrained model, the KL term is positive and finite,
decoded samples from N(0, I) are images in range (and differ from each other),
and the validation loss falls below a measured bound. The reconstruction from
the posterior mean is compared with PCA: with as many components as the code
where the budget allows, with fewer (or not at all) where it does not, each
case saying why with the measured figures."""

from __future__ import annotations

import math

import pytest
import torch

from aekit.evaluate import elbo
from test_family_support import N_EVAL, train_briefly

# preset: (train images, epochs, overrides, val_loss bound, minimum ELBO gain, PCA-k to beat, minimum spread)
# "PCA-k to beat": the squared error of the deterministic reconstruction (decoder of the
# posterior mean) must beat PCA with k components (k = None: not asserted; see the case).
# "minimum spread": decoded samples from N(0, I) differ (mean per-pixel std over 64 samples);
# a collapsed posterior decodes one image 64 times, a spread near 0.02 on MNIST.
CASES = {
    # MSE + KL, 10-d. Measured: val 32.60; ELBO -182.3 -> -32.6 (recon 24.5, KL 8.1);
    # SSE 20.81 vs PCA-10 26.72; sample spread 0.123.
    "vae-mlp": (54000, 2, [], 35.0, 100.0, 10, 0.05),
    # Bernoulli + KL on binarized MNIST, 20-d. Measured: val 112.0 nats; ELBO -550.5 -> -90.2
    # (recon 66.9, KL 23.3); SSE 17.79 vs PCA-20 25.67; sample spread 0.136.
    "vae-kingma": (54000, 3, [], 120.0, 300.0, 20, 0.05),
    # The TF1 conv VAE (10M weights, 9.8M of them in its dense output layer; Glorot init as
    # tf.layers) first sits on the mean-image plateau (SSE of the mean image: 50.6) with a
    # collapsed KL, and leaves it after some 300-500 steps; it passes PCA-8 after ~1500.
    # Budget: 4000 images x 8 epochs, batch 16 (2000 steps), the preset's lr 5e-4, about
    # 140 s on one core. Measured (seeds 0 / 1 / 2): val 35.57 / 36.08 / 35.72; SSE 24.68 /
    # 26.57 / 26.13 vs PCA-8 29.79 (margins 17 / 11 / 12 %). Six epochs were too close on
    # seed 1 (28.62 vs 29.77), as was lr 1e-3 (27.76).
    "vae-conv": (4000, 8, ["train.batch_size=16", "train.lr=0.0005"], 39.0, 100.0, 8, 0.04),
    # Same, beta = 4 (the ELBO reported is still the beta = 1 bound). Beating PCA-8 is not
    # expected of it: squared error + 4 KL is, divided by 4, a Gaussian decoder of variance
    # 2 per pixel, and a linear VAE with that noise switches off every direction of variance
    # below 2 (MNIST has 6 above: 5.14 ... 2.27) and shrinks the rest, for a posterior-mean
    # SSE of 40.7 at best (PCA-3 39.2; PCA-8 29.2). The conv net is not linear, but it stays
    # collapsed far longer: after the ~1500 steps that take vae-conv past PCA-8 (4000 images
    # x 6 epochs, batch 16, lr 5e-4) it had val 52.84, KL 0.30, SSE 48.11, spread 0.021.
    # So here only what a 125-step budget shows: the ELBO rises by over 100 (it learns the
    # mean image), KL positive and finite, samples in range. Measured: val 53.24; ELBO
    # -181.6 -> -50.6 (KL 0.026); SSE 51.2 vs PCA-8 29.3.
    "beta-vae": (2000, 1, ["train.batch_size=16", "train.lr=0.001"], 56.0, 100.0, None, None),
}


def _elbo_at_init(model, data):
    return elbo(model, data.test.images[:N_EVAL])


@pytest.mark.parametrize("preset", sorted(CASES))
def test_vae_preset_elbo_improves_kl_finite_samples_in_range(preset):
    n_train, epochs, sets, val_bound, min_gain, pca_k, min_spread = CASES[preset]
    run = train_briefly(preset, n_train, epochs, sets, before=_elbo_at_init)
    after = elbo(run.model, run.test_images)
    before = run.before
    val = run.history[-1]["val_loss"]
    print(f"{preset}: val_loss {val:.2f}; ELBO {before['elbo']:.2f} -> {after['elbo']:.2f} "
          f"(recon {after['recon']:.2f}, KL {after['kl']:.3f})")
    assert val < val_bound
    assert after["elbo"] > before["elbo"] + min_gain

    # KL per image: positive (q differs from the prior) and finite for every test image.
    x = run.model.preprocess(run.test_images[:500])
    with torch.no_grad():
        kl = run.model.loss(x).terms["kl"]
    assert torch.isfinite(kl).all() and (kl > 0).all()
    assert math.isfinite(after["kl"]) and after["kl"] > 0

    # Generation: decode z ~ N(0, I); the likelihood's mean is an image in the data range.
    torch.manual_seed(1)
    with torch.no_grad():
        samples = run.model.decode(torch.randn(64, run.model.code_dim))
    assert samples.shape == (64, *run.model.input_shape)
    assert torch.isfinite(samples).all() and samples.min() >= 0.0 and samples.max() <= 1.0
    spread = samples.std(0).mean().item()
    print(f"{preset}: mean per-pixel std across 64 samples {spread:.4f}")

    if min_spread is not None:
        assert spread > min_spread        # not one image 64 times

    # Reconstruction from the posterior mean (the model's encode is the mean) vs PCA.
    sse = run.squared_error()
    k = pca_k or run.model.code_dim
    baseline = run.pca_squared_error(k)
    print(f"{preset}: SSE {sse:.2f} vs PCA-{k} {baseline:.2f}")
    if pca_k is not None:
        assert sse < baseline
