"""The VAE presets train briefly on real data: the ELBO on test images
improves over the untrained model, the KL term is positive and finite,
decoded samples from N(0, I) are images in range (and differ from each other),
the validation loss falls below a measured bound, and at least a stated number
of code units are active. The reconstruction from the posterior mean must beat
PCA: with as many components as the code where the budget allows, with fewer
where it does not or where the objective trades reconstruction away (beta-vae),
each case saying why with the measured figures. Every case runs on seeds 0
and 1, with the preset's own optimiser, lr and batch size."""

from __future__ import annotations

import math

import pytest
import torch

from aekit.metrics import active_units, elbo, encode_images
from test_family_support import N_EVAL, each_seed, train_briefly

# preset: (train images, epochs, val_loss bound, minimum ELBO gain, PCA-k to beat, minimum spread,
#          minimum active units, test-only overrides)
# "PCA-k to beat": the squared error of the deterministic reconstruction (decoder of the
# posterior mean) must beat PCA with k components.
# "minimum spread": decoded samples from N(0, I) differ (mean per-pixel std over 64 samples);
# a collapsed posterior decodes one image 64 times, a spread near 0.02 on MNIST.
# "minimum active units": code units whose posterior mean varies over the test images by
# more than 0.01 (Burda et al.); a collapsed code has none.
CASES = {
    # MSE + KL, 10-d, its own batch 32. Measured (seeds 0 / 1): val 32.73 / 32.72; ELBO -182.3 /
    # -182.5 -> -32.7 / -32.8 (KL 8.12 / 7.76); SSE 21.16 / 21.92 vs PCA-10 26.72; active units
    # 7 / 8 of 10; sample spread 0.123 (seed 0, earlier).
    "vae-mlp": (54000, 2, 35.0, 100.0, 10, 0.05, 5, []),
    # Bernoulli + KL on binarized MNIST, 20-d, its own batch 100. Measured (seeds 0 / 1): val
    # 110.16 / 110.09 nats; ELBO -550.5 -> -89.8 / -89.1 (KL 22.91 / 23.43); SSE 17.59 / 17.43
    # vs PCA-20 25.67; active units 20 / 20; sample spread 0.136 (seed 0, earlier).
    "vae-kingma": (54000, 3, 120.0, 300.0, 20, 0.05, 15, []),
    # The importance-weighted bound (k = 5) on 784-500-500-50, KL warmed up over 5,000 steps
    # (1,000 steps here: the KL still weighs ~0.2), bf16 autocast, its own batch 100 and cosine
    # decay over the run's 2 epochs; ~60 s a seed on one core. Measured (2-core AMD EPYC,
    # 2026-11-30, seeds 0 / 1): val (the k = 5 bound) 94.71 / 93.24; ELBO -543.3 -> -114.1 /
    # -112.4 (KL 47.5 / 47.2); active units 50 / 50; sample spread 0.111 / 0.110; SSE 18.62 /
    # 18.12 against PCA-30's 20.64 (PCA-40 18.24, PCA-50 16.35): a 50-d code that pays ~47 nats
    # of KL reconstructs like PCA at some 40 components, so PCA-30 is the bar (margins 10 / 12 %).
    "iwae-mnist": (50000, 2, 100.0, 300.0, 30, 0.05, 40, []),
    # The TF1 conv VAE (10M weights, 9.8M of them in its dense output layer; Glorot init as
    # tf.layers) first sits on the mean-image plateau (SSE of the mean image: 50.6) with a
    # collapsed KL, and leaves it after some 300-500 steps; it passes PCA-8 after ~1500.
    # Budget: 4000 images x 8 epochs, batch 16 (2000 steps), the preset's lr 5e-4, about
    # 140 s on one core. Measured (seeds 0 / 1 / 2): val 35.57 / 36.08 / 35.72; SSE 24.68 /
    # 26.57 / 26.13 vs PCA-8 29.79 (margins 17 / 11 / 12 %). Six epochs were too close on
    # seed 1 (28.62 vs 29.77), as was lr 1e-3 (27.76). Rerun with aekit's validation split
    # (seeds 0 / 1): val 35.56 / 36.05, SSE 24.65 / 26.44 vs 29.79, active units 8 / 8.
    "vae-conv": (4000, 8, 39.0, 100.0, 8, 0.04, 6,
                 ["train.batch_size=16"]),   # CI time: 2000 steps at its batch 64 are 128k images, ~8 min a seed
    # Bernoulli + 4 KL (see the preset for why not squared error, which collapsed to the mean
    # image). The same network as vae-conv, so the same plateau first: measured (seed 0,
    # 8000 images, batch 64) SSE 53.32 / 52.26 / 41.60 / 33.31 after epochs 1-4 (mean image:
    # 50.6), val 178.13 nats after 4; PCA-3 39.53, PCA-5 34.76, PCA-8 29.57. Hence 500 steps,
    # and PCA-3 to beat (beta = 4 buys a smoother code with reconstruction). Measured at 8000
    # images x 4 epochs (seeds 0 / 1): val 178.13 / 176.24; ELBO -543.5 / -543.3 -> -163.7 /
    # -162.3 (KL 3.87 / 4.04); SSE 33.31 / 32.51 (margins 16 / 18 % on PCA-3, below PCA-5 too);
    # active units 8 / 8; sample spread 0.085 / 0.085; ~410 s a seed on the loaded 2-core EPYC.
    # Active units alone do not catch a collapse at this threshold (8 of 8 were "active" after
    # 2 epochs, still on the mean-image plateau, SSE 52.26): the PCA comparison does.
    "beta-vae": (8000, 4, 190.0, 300.0, 3, 0.04, 6, []),
}


def _elbo_at_init(model, data):
    return elbo(model, data.test.images[:N_EVAL])


@pytest.mark.parametrize("preset", sorted(CASES))
@each_seed
def test_vae_preset_elbo_improves_kl_finite_samples_in_range(preset, seed):
    n_train, epochs, val_bound, min_gain, pca_k, min_spread, min_active, sets = CASES[preset]
    run = train_briefly(preset, n_train, epochs, seed, sets, before=_elbo_at_init)
    after = elbo(run.model, run.test_images)
    before = run.before
    val = run.history[-1]["val_loss"]
    active = active_units(encode_images(run.model, run.test_images))
    print(f"{preset} seed {seed}: val_loss {val:.2f}; active units {active} of {run.model.code_dim}; ELBO {before['elbo']:.2f} -> {after['elbo']:.2f} "
          f"(recon {after['recon']:.2f}, KL {after['kl']:.3f})")
    assert val < val_bound
    assert after["elbo"] > before["elbo"] + min_gain
    assert active >= min_active

    # KL per image: positive (q differs from the prior) and finite for every test image.
    x = run.model.preprocess(run.test_images[:500])
    with torch.no_grad():
        kl = run.model.loss(x, samples=1).terms["kl"]   # the ELBO's terms, whatever the training objective
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

    assert spread > min_spread        # not one image 64 times

    # Reconstruction from the posterior mean (the model's encode is the mean) vs PCA-k.
    sse, baseline = run.squared_error(), run.pca_squared_error(pca_k)
    print(f"{preset}: SSE {sse:.2f} vs PCA-{pca_k} {baseline:.2f}")
    assert sse < baseline
