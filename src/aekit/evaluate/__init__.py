"""Metrics on trained models: reconstruction error against a PCA baseline,
PSNR for denoising, the ELBO of VAEs, how well codes match a prior, and
how many code units are dead (or, for a VAE, active).
This layer sits above `train`: it reads models and data, never trains."""

from aekit.evaluate.codes import active_units, dead_code_units, encode_images
from aekit.evaluate.elbo import elbo
from aekit.evaluate.pca import PCA, pca_squared_error
from aekit.evaluate.prior_match import mmd_rbf
from aekit.evaluate.psnr import psnr
from aekit.evaluate.reconstruction import reconstruct, squared_error_per_image

__all__ = ["PCA", "active_units", "dead_code_units", "elbo", "encode_images", "mmd_rbf", "pca_squared_error", "psnr", "reconstruct", "squared_error_per_image"]
