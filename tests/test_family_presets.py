"""Every deterministic-code preset trains briefly on real data and learns:
its validation loss falls below a bound measured here, and its reconstruction
(sum of squared errors per test image, [0, 1] pixels) beats PCA with as many
components as the code, fitted on the same training images.

Budgets (images x epochs, batch) are the tests' own: a preset's full run is
tens of epochs; here it gets a few hundred to a few thousand steps on one CPU
core. Figures in the comments were measured with seed 0 on a 2-core CPU.
The VAEs, the AAE and the denoising AE have their own files.
"""

from __future__ import annotations

import pytest
import torch

from aekit.models.presets import preset_names
from test_family_support import train_briefly

# preset: (train images, epochs, overrides, val_loss bound, PCA comparison)
# The val_loss unit is the preset's own (nats for Bernoulli, summed squared error
# on the model's range for Gaussian/MSE). The "pca" column says whether the
# squared error must beat PCA-k, with the measured pair in the comment.
CASES = {
    # BCE, 784-32-784. Measured: val 87.9 nats; SSE 12.65 vs PCA-32 13.59. Untrained: 543 nats.
    "dense-ae-32": (54000, 3, ["train.batch_size=64"], 92.0, True),
    # BCE, 784-256-128-20. Measured: val 226.5 nats (Fashion-MNIST); SSE 12.15 vs PCA-20 14.43.
    "fashion-ae": (54000, 3, ["train.batch_size=64"], 232.0, True),
    # MSE, 784-25(elu)-784. Measured at 3 epochs: val 16.27 (seed 1: 16.22); SSE 15.01 vs PCA-25
    # 16.31 (margin 8.0 %; seed 1: 15.02, 7.9 %). At 2 epochs val was 16.39, too near the bound.
    "dense-ae-25-elu": (54000, 3, [], 17.0, True),
    # MSE on [-1, 1] (4x the [0, 1] figure), 3-d code. Measured: val 125.9; SSE 31.28 vs PCA-3 39.22.
    "deep-ae-3d": (54000, 2, ["train.batch_size=64"], 135.0, True),
    # Dropout 0.2 on hidden layers is slow to pass PCA: SSE 15.44 after 2 epochs (batch 16),
    # 14.08 after 4 (batch 32; seed 1: 14.31, too close). Measured at 6 epochs: val 229.5 nats;
    # SSE 13.33 vs PCA-20 14.43 (seed 1: 13.72). With aekit's own validation split: val 234.1,
    # SSE 13.72 (4.9 %: too close for another CPU's rounding), so 8 epochs: val 232.35 / 226.75,
    # SSE 13.07 / 13.11 vs PCA-20 14.43 on seeds 0 / 1 (margins 9.4 / 9.1 %), ~35 s.
    "dropout-ae": (54000, 8, ["train.batch_size=32"], 240.0, True),
    # Keras conv AE, 10-d code: Dense(10, relu) on Glorot-initialised conv features. The
    # features are all positive and alike across images, so at initialisation some code units
    # are negative on every image and never recover (dead ReLUs): on the first 2000 test images
    # seed 0 starts with 1 such unit, seed 1 with 3, seed 3 with 5 (a 5-d code cannot beat
    # PCA-10 at any budget; the Keras original shares this). The test's seed is fixed.
    # At the preset's lr 3e-4 (25k images, batch 16) the live units learn too slowly:
    # SSE 26.02 vs PCA-10 26.73 (seed 1: 27.31). At lr 6e-4 (18k images, batch 16):
    # val 20.36, SSE 20.52 vs PCA-10 26.85 (margin 23.6 %); seed 1: val 23.06, SSE 22.93
    # (14.6 %). 25k images at lr 6e-4: seeds 0-2 SSE 18.76, 21.85, 17.36 (margins 18-35 %).
    "conv-ae-10": (18000, 1, ["train.batch_size=16", "train.lr=0.0006"], 25.0, True),
    # 2-d code. Measured: val 38.9; SSE 37.72 vs PCA-2 42.18 (seed 1: 38.43).
    "ae-2d": (30000, 1, ["train.batch_size=16"], 41.0, True),
    # Conv2d + MaxPool encoder, dense 32-d code, ConvTranspose2d decoder, MSE on [-1, 1] (val is 4x
    # the [0, 1] figure). Measured (20k images, 1 epoch, batch 32, lr 2e-3; ~10-20 s on one core):
    # val 30.63, SSE 7.66 vs PCA-32 13.65 (margin 44 %); seed 1: val 34.55, SSE 8.76 vs 13.65 (36 %).
    # The tutorial's own 8x2x2 pooled code reached only SSE 23.5-27.6 here (see the preset).
    "conv-ae": (20000, 1, ["train.batch_size=32", "train.lr=0.002"], 40.0, True),
}


@pytest.mark.parametrize("preset", sorted(CASES))
def test_preset_learns_and_beats_pca(preset):
    n_train, epochs, sets, val_bound, pca = CASES[preset]
    run = train_briefly(preset, n_train, epochs, sets)
    val = [m["val_loss"] for m in run.history]
    sse = run.squared_error()
    k = pca if isinstance(pca, int) and not isinstance(pca, bool) else run.model.code_dim
    baseline = run.pca_squared_error(k)
    print(f"{preset}: val_loss {[round(v, 2) for v in val]}, SSE {sse:.2f}, PCA-{k} {baseline:.2f}")
    assert val[-1] < val_bound
    assert sse < baseline


def test_sparse_ae_codes_are_sparse_and_reconstruct():
    # Overcomplete: 1024 code units for 784 pixels, so PCA with as many components is exact
    # and a PCA comparison is meaningless; what to check is the L1 term's effect, against
    # the same model trained without it on the same budget (10k images, 2 epochs, 6 s each).
    # Measured: val 131.0 nats (recon 114.0); share of code units active (> 0) per test
    # image 0.48 with L1, 0.85 without; mean L1 norm of the code 207.5 with, 675.4 without.
    sparse = train_briefly("sparse-ae", 10000, 2)
    plain = train_briefly("sparse-ae", 10000, 2, sets=["model.regularisers=[]"])
    x = sparse.model.preprocess(sparse.test_images)
    stats = {}
    for name, run in (("l1", sparse), ("none", plain)):
        with torch.no_grad():
            z = run.model.encode(x)
        stats[name] = {"active": (z > 0).float().mean().item(), "l1_norm": z.abs().sum(1).mean().item()}
    val = sparse.history[-1]
    print(f"sparse-ae: val_loss {val['val_loss']:.2f} (recon {val['val_recon']:.2f}); code statistics {stats}")
    assert val["val_recon"] < 120.0
    assert stats["l1"]["active"] < 0.7 * stats["none"]["active"]
    assert stats["l1"]["l1_norm"] < 0.5 * stats["none"]["l1_norm"]


def test_every_preset_has_a_training_test():
    from test_family_aae import CASES as AAE
    from test_family_dae import PRESETS as DAE
    from test_family_vae import CASES as VAE

    covered = set(CASES) | set(VAE) | set(AAE) | set(DAE) | {"sparse-ae"}
    assert set(preset_names()) <= covered, sorted(set(preset_names()) - covered)
