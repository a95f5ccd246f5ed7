"""Metrics on trained models: reconstruction error against a PCA baseline,
PSNR for denoising, the ELBO and importance-sampled NLL of VAEs, how well
codes match a prior, and how many code units are dead (or, for a VAE, active).
This layer sits above `training`: it reads models and data, never trains."""

from aekit.metrics.codes import active_units, dead_code_units, encode_images
from aekit.metrics.elbo import elbo
from aekit.metrics.nll import importance_sampled_nll
from aekit.metrics.pca import PCA, pca_squared_error
from aekit.metrics.prior_match import mmd_rbf
from aekit.metrics.psnr import psnr
from aekit.metrics.reconstruction import reconstruct, squared_error_per_image

__all__ = ["PCA", "active_units", "dead_code_units", "elbo", "encode_images", "importance_sampled_nll", "mmd_rbf", "pca_squared_error", "psnr", "reconstruct", "squared_error_per_image"]
