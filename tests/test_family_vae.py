"""The VAE presets train briefly on real data: the ELBO on test images
improves over the untrained model, the KL term is positive and finite,
decoded samples from N(0, I) are images in range (and differ from each other),
and the validation loss falls below a measured bound. Reconstruction is
compared with PCA where the budget allows (see each case)."""

from __future__ import annotations

import math

import pytest
import torch

from aekit.evaluate import elbo
from test_family_support import N_EVAL, train_briefly

# preset: (train images, epochs, overrides, val_loss bound, minimum ELBO gain, uses its code)
# "uses its code": beats PCA with as many components and decodes visibly different samples.
CASES = {
    # MSE + KL, 10-d. Measured: val 32.60; ELBO -182.3 -> -32.6 (recon 24.5, KL 8.1);
    # SSE 20.81 vs PCA-10 26.72; sample spread 0.123.
    "vae-mlp": (54000, 2, [], 35.0, 100.0, True),
    # Bernoulli + KL on binarized MNIST, 20-d. Measured: val 112.0 nats; ELBO -550.5 -> -90.2
    # (recon 66.9, KL 23.3); SSE 17.79 vs PCA-20 25.67; sample spread 0.136.
    "vae-kingma": (54000, 3, [], 120.0, 300.0, True),
    # The TF1 conv VAE (10M weights, 9.8M of them in its dense output layer; Glorot init as
    # tf.layers) is slow to start: after the ~125 steps a CPU test affords it sits near the
    # mean-image plateau (the SSE of predicting the mean image is 52.7) with a nearly collapsed
    # KL, so it does not yet use its code. Measured: val 52.26; ELBO -181.6 -> -50.0 (recon 49.5,
    # KL 0.56); SSE 55.2 vs PCA-8 29.3; sample spread 0.023. With torch's init, the code made
    # deterministic and no KL, the same budget reaches only 50.3, and neither a KL warm-up (150
    # steps) nor 250 steps at lr 1e-3 left the plateau, so this is the budget, not the VAE; at the
    # preset's lr 5e-4, batch 8, 4000 images (500 steps, ~100 s) it leaves it (val 49.9, KL 1.34),
    # too slow and too near the escape point for a reliable test. Asserted: the ELBO improves by
    # over 100, KL positive and finite, samples in range; not asserted: PCA, sample spread.
    "vae-conv": (2000, 1, ["train.batch_size=16", "train.lr=0.001"], 56.0, 100.0, False),
    # Same, beta = 4 (the ELBO reported is still the beta = 1 bound). Measured: val 53.24;
    # ELBO -181.6 -> -50.6 (KL 0.026); SSE 51.2 vs PCA-8 29.3.
    "beta-vae": (2000, 1, ["train.batch_size=16", "train.lr=0.001"], 56.0, 100.0, False),
}


def _elbo_at_init(model, data):
    return elbo(model, data.test.images[:N_EVAL])


@pytest.mark.parametrize("preset", sorted(CASES))
def test_vae_preset_elbo_improves_kl_finite_samples_in_range(preset):
    n_train, epochs, sets, val_bound, min_gain, uses_code = CASES[preset]
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

    sse, baseline = run.squared_error(), run.pca_squared_error()
    print(f"{preset}: SSE {sse:.2f} vs PCA-{run.model.code_dim} {baseline:.2f}")
    if uses_code:
        assert spread > 0.05          # not one image 64 times
        assert sse < baseline
