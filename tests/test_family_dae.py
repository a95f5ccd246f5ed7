"""The denoising autoencoder removes noise: on test images with the noise it
was trained with (Gaussian, sigma 0.5, clipped to [0, 1]), its output is
closer to the clean image (PSNR) than the noisy input is, than a plain
autoencoder of the same shape trained on clean images for the same budget,
and than PCA with as many components as the code (itself a classic
denoiser: projecting onto the top components drops most of the noise)."""

from __future__ import annotations

import torch

from aekit.metrics import PCA, psnr, reconstruct
from test_family_support import each_seed, train_briefly

PRESETS = ("dae",)
BUDGET = (54000, 10)


@each_seed
def test_dae_denoises_better_than_the_noisy_input_a_plain_ae_and_pca(seed):
    n_train, epochs = BUDGET
    dae = train_briefly("dae", n_train, epochs, seed)
    # The plain AE of the same shape: the same preset without its corruption.
    plain = train_briefly("dae", n_train, epochs, seed, ["model.corruption=none"])
    clean = dae.test_images.to(torch.float32) / 255.0
    gen = torch.Generator().manual_seed(7)
    noisy = (clean + 0.5 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    pca = PCA(dae.model.code_dim).fit(dae.train_images)
    scores = {
        "noisy input": psnr(clean, noisy),
        "dae": psnr(clean, reconstruct(dae.model, noisy)),
        "plain ae": psnr(clean, reconstruct(plain.model, noisy)),
        "pca": psnr(clean, pca.reconstruct(noisy).clamp(0, 1)),
    }
    val = dae.history[-1]["val_clean_loss"]
    print(f"dae seed {seed}: val_clean_loss {val:.2f} (clean inputs, eval mode); PSNR (dB) to the clean images: "
          + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
    # Measured (54k images, 10 epochs at its own batch 512, seeds 0 / 1; 3 epochs are enough at
    # batch 64 but not at 512, see fashion-ae's case): val 284.55 / 276.69 nats; PSNR noisy
    # input 9.30, dae 16.99 / 17.00, plain AE 10.84 / 11.22, PCA-20 14.41 dB. ~90 s a seed on
    # the 2-core EPYC (405 s under heavy load). The bound leaves room for other CPUs' rounding.
    assert val < 292.0
    assert scores["dae"] > scores["noisy input"] + 5.0
    assert scores["dae"] > scores["plain ae"] + 1.0
    assert scores["dae"] > scores["pca"]
    # Its PCA comparison is made on its job, denoising (above). On clean images it does not
    # beat PCA-20, and should not be expected to: trained to map sigma-0.5 noise to digits, it
    # returns a smooth, typical image rather than the input's details. Measured: SSE 24.14 vs
    # PCA-20 14.43 (the same net trained on clean inputs, fashion-ae's test: 12.15).
