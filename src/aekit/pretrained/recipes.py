"""How each pretrained model is trained: a preset with its own settings, on the
full real dataset, for fewer epochs than the preset's (so that each rebuilds
in a few CPU minutes), from a fixed seed. Data, not code: `build.py` reads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    preset: str
    data: str
    epochs: int
    seed: int
    summary: str


RECIPES = {
    "mnist-2d": Recipe("ae-2d", "mnist", 3, 0,
                       "the ae-2d conv autoencoder on MNIST: a 2-d code for latent maps and manifolds"),
    "mnist-vae": Recipe("vae-kingma", "binarized-mnist", 20, 0,
                        "the vae-kingma MLP VAE (20-d Gaussian code, Bernoulli) on binarized MNIST"),
    "fashion-ae": Recipe("fashion-ae", "fashion-mnist", 20, 0,
                         "the fashion-ae MLP autoencoder (20-d code, BCE) on Fashion-MNIST"),
}
