"""The Keras blog's deep dense and convolutional autoencoders ("Building
Autoencoders in Keras": keras-deep-ae, keras-conv-ae) train briefly on real
MNIST with their own optimiser, lr and batch size, and learn: the per-pixel
binary cross-entropy on test images (the blog's figure) falls below a bound
measured here, well below that of the mean training image (what a model that
learned nothing image-specific gives). Their published figures after the full
100 / 50 epochs are benchmarks/quality.py's (task keras), not CI's.
Every case runs on seeds 0 and 1."""

from __future__ import annotations

import pytest
import torch

from aekit.evaluation.reconstruction import error_sums, model_reconstruction, unit_images
from test_family_support import each_seed, train_briefly

# preset: (train images, epochs, most per-pixel BCE on the 2000 test images)
# Measured (2-core AMD EPYC, shared, 2026-11-30), seeds 0 / 1; the mean training image
# scores 0.2537-0.2540 per pixel on the same test images.
CASES = {
    # Dense 784-128-64-32-64-128-784, batch 256: BCE/pixel 0.1598 / 0.1581 after 3 epochs (val
    # 126.21 / 125.51 nats); ~9-16 s a seed on the loaded machine. Its 100 epochs reach 0.0866.
    "keras-deep-ae": (54000, 3, 0.17),
    # 4,385 weights, batch 128, Glorot init: slow to start (val 150.39 / 152.76 nats after one
    # epoch of 20k images); BCE/pixel 0.1587 / 0.1602 after 2 epochs; ~50 s a seed, loaded.
    "keras-conv-ae": (20000, 2, 0.17),
}


def bce_per_pixel(recon, images) -> float:
    x = unit_images(images)
    return error_sums(x, recon)["bce"] / x[0].numel() / len(x)


@pytest.mark.parametrize("preset", sorted(CASES))
@each_seed
def test_keras_blog_preset_learns(preset, seed):
    n_train, epochs, bound = CASES[preset]
    run = train_briefly(preset, n_train, epochs, seed)
    with torch.inference_mode():
        bce = bce_per_pixel(model_reconstruction(run.model, run.test_images), run.test_images)
    mean_image = unit_images(run.train_images).mean(0, keepdim=True)
    baseline = bce_per_pixel(mean_image.expand(len(run.test_images), *mean_image.shape[1:]), run.test_images)
    print(f"{preset} seed {seed}: BCE/pixel {bce:.4f} (mean image {baseline:.4f}); "
          f"val_loss {[round(m['val_loss'], 2) for m in run.history]}")
    assert bce < bound
    assert bce < 0.7 * baseline   # measured 0.62-0.63
