"""Combinations need no new class: a denoising conv VAE and a sparse conv AE
are the Keras conv AE preset with other parts plugged in by `--set`, and
both train."""

from __future__ import annotations

import torch

from aekit.evaluate import psnr, reconstruct
from aekit.models import Autoencoder
from aekit.nn.bottlenecks import Gaussian
from aekit.nn.conv import ConvDecoder, ConvEncoder
from aekit.nn.corruptions import Masking
from test_family_support import train_briefly

DENOISING_CONV_VAE = [
    "model.corruption={type: masking, p: 0.5}",
    "model.bottleneck={type: gaussian, dim: 8}",
    "model.regularisers=[{type: kl, beta: 1.0}]",
    "train.batch_size=16",
]
SPARSE_CONV_AE = [
    "model.bottleneck={type: deterministic, dim: 64, activation: relu}",
    "model.regularisers=[{type: l1, weight: 1.0}]",
    "train.batch_size=32",
]


def test_denoising_conv_vae_is_a_config():
    run = train_briefly("conv-ae-10", 20000, 1, DENOISING_CONV_VAE)
    model = run.model
    assert type(model) is Autoencoder
    assert isinstance(model.encoder, ConvEncoder) and isinstance(model.decoder, ConvDecoder)
    assert isinstance(model.bottleneck, Gaussian) and isinstance(model.corruption, Masking)
    val = run.history[-1]
    clean = run.test_images.to(torch.float32) / 255.0
    masked = clean * (torch.rand(clean.shape, generator=torch.Generator().manual_seed(5)) >= 0.5)
    scores = {"masked": psnr(clean, masked), "model": psnr(clean, reconstruct(model, masked))}
    print(f"denoising conv VAE: val_clean_loss {val['val_clean_loss']:.2f} (recon {val['val_clean_recon']:.2f}, "
          f"KL {val['val_clean_kl']:.2f}); "
          f"PSNR masked {scores['masked']:.2f} -> output {scores['model']:.2f} dB")
    # Measured (20k images, 1 epoch, batch 16, 36 s): val 46.3 = recon 32.1 + KL 14.3 (predicting
    # the mean image scores 52.7, so the code is used); PSNR masked 13.24 -> output 14.99 dB.
    assert val["val_clean_recon"] < 40.0 and 1.0 < val["val_clean_kl"] < 100.0   # measured on clean inputs
    assert scores["model"] > scores["masked"]


def test_sparse_conv_ae_is_a_config():
    sparse = train_briefly("conv-ae-10", 10000, 1, SPARSE_CONV_AE)
    # The same conv AE with the same 64-unit ReLU code and no L1 term, for comparison.
    plain = train_briefly("conv-ae-10", 10000, 1, SPARSE_CONV_AE[:1] + SPARSE_CONV_AE[2:])
    assert type(sparse.model) is Autoencoder and isinstance(sparse.model.encoder, ConvEncoder)
    assert not plain.model.regularisers
    stats = {}
    for name, run in (("l1", sparse), ("none", plain)):
        with torch.no_grad():
            z = run.model.encode(run.model.preprocess(run.test_images))
        stats[name] = {"active": (z > 0).float().mean().item(), "recon": run.history[-1]["val_recon"]}
    print(f"sparse conv AE (10k images, 1 epoch): {stats}")
    # Measured: with L1 recon 25.3, active share 0.383; without: recon 20.0, active 0.766.
    assert stats["l1"]["recon"] < 28.0
    assert stats["l1"]["active"] < 0.65 * stats["none"]["active"]
