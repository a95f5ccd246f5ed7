"""The importance-sampled negative log-likelihood of a VAE (Burda et al.'s
estimator, with the model's own posterior as the proposal):

    log p(x) ~= logsumexp_j [log p(x|z_j) + log p(z_j) - log q(z_j|x)] - log k,   z_j ~ q(z|x)

Each part states its own term (aekit/nn/interfaces.py): the likelihood's
`nll` (the one definition the loss and the ELBO use too), the bottleneck's
`log_posterior`, and the prior's density from the term that names the prior:
the KL term's is the bottleneck's own (`log_prior`, the prior its `kl`
measures against), an adversarial term's is the prior its critic matches. With k = 1 it is a one-sample ELBO; it tightens
towards -log p(x) as k grows (in expectation, never above the ELBO's bound).

What the number is depends on the likelihood:
- Bernoulli: nats of a probability over binary images. On binary data
  (binarized-mnist) it is -log p(x), comparable with published NLLs. On
  grey-level images the Bernoulli "likelihood" of a fractional pixel is a
  cross-entropy, not a normalised probability: the figure is then a loss
  value, as every library's "BCE" VAE reports it, not a likelihood.
- Gaussian with a scale (fixed `scale` or `learn_scale`): nats of a density
  over continuous pixels in the model's data range ([0, 1] or [-1, 1]), not
  a probability of 8-bit images: it is not comparable with discrete NLLs
  (that needs dequantisation and a change of range, d log 255 nats per image
  for [0, 1]). A fixed scale chosen as a loss weight makes this the density
  of a model with that arbitrary sigma: a valid number for that model, but
  not a fitted likelihood, and it moves with sigma.
- Gaussian without a scale (plain squared error) is a loss, not a density:
  refused, as is a deterministic code (no q(z|x) to sample).

Speed: each image is encoded once, its k codes are drawn at once, and they
are decoded in blocks of (images x samples) holding at most `max_elements`
decoder outputs, so the decoder's matmuls are large (thousands of rows) while
memory stays bounded whatever k and N are (k = 5000 on 10,000 images).
"""

from __future__ import annotations

import math

import torch

from aekit.cpu import flushing_denormals
from aekit.errors import AekitError
from aekit.models.autoencoder import Autoencoder
from aekit.nn.interfaces import Code, Regulariser, StochasticBottleneck
from aekit.rng import fixed_rng

# Decoder outputs per block (fp32: 16 MiB, 5,349 samples of MNIST's 784
# pixels: one image's k = 5000 in one decoder call). Measured 2026-11-30 on
# 2 cores of a shared AMD EPYC Zen 4 (vae-kingma, 6 images, k = 5000, the
# block sizes interleaved 3 times): 2**22 7-9 img/s with 2 threads against
# 5-7 for 2**21 and 3-5 for 2**20 (fewer, larger ops wait less for a busy
# core); on one thread 2**21 and 2**22 alike. The block stays within the
# last-level cache for the likelihood's pass.
DEFAULT_MAX_ELEMENTS = 2 ** 22
# Codes held per batch of images (images x k codes): bounds the memory of
# the draws and their densities, ~20 MiB for a 20-d code.
SAMPLES_PER_BATCH = 2 ** 18


def prior_term(model: Autoencoder) -> Regulariser:
    """The model's one term that names its prior p(z) (the KL term, or an
    adversarial one); AekitError where there is none or more than one."""
    terms = [reg for reg in model.regularisers if reg.names_prior]
    if not terms:
        raise AekitError("importance-sampled NLL: the model names no prior p(z) (no kl or adversarial term), "
                         "so there is no density of codes to score against: it needs a kl regulariser")
    if len(terms) > 1:
        raise AekitError(f"importance-sampled NLL: the model names {len(terms)} priors "
                         f"({', '.join(reg.name for reg in terms)}), so p(z) is ambiguous: score a model with one")
    return terms[0]


def check_scorable(model: Autoencoder) -> None:
    """AekitError naming why the model has no likelihood to estimate."""
    if not isinstance(model.bottleneck, StochasticBottleneck):
        raise AekitError(
            f"importance-sampled NLL: the model's code is deterministic ({type(model.bottleneck).__name__} "
            "bottleneck), so there is no q(z|x) to sample and no likelihood: it needs a VAE (bottleneck.type gaussian)"
        )
    if model.likelihood.unit != "nats":
        raise AekitError(
            f"importance-sampled NLL: the model's likelihood is {model.likelihood.unit} "
            f"({type(model.likelihood).__name__}), a loss rather than a normalised density: it needs "
            "a bernoulli likelihood or a gaussian one with a scale (likelihood.scale or learn_scale: true)"
        )
    prior_term(model)


@torch.inference_mode()
@flushing_denormals()   # as in training: no slow path on Intel CPUs
def importance_sampled_nll(model: Autoencoder, images: torch.Tensor, k: int = 1000, *, seed: int = 0,
                           batch_images: int | None = None, max_elements: int | None = None,
                           first_index: int = 0) -> torch.Tensor:
    """-log p(x) per image in nats, float64 [N], estimated with `k` importance
    samples from q(z|x), for uint8 `images` [N, C, H, W]; eval mode.

    Seeded per image: the k codes of image i are drawn from a stream seeded
    by (seed, first_index + i) alone, so the numbers do not depend on how the
    work is cut (`batch_images` images encoded at a time, by default as many
    as make ~262k codes; `max_elements` decoder outputs per block, default
    2**22), beyond float rounding; a shard of a larger set passes its offset
    as `first_index` and gets the numbers one process would. The same call
    gives the same numbers, and the caller's random streams are untouched."""
    check_scorable(model)
    if k < 1:
        raise AekitError(f"importance-sampled NLL: k must be a positive number of samples, got {k}")
    n = len(images)
    batch = batch_images or max(1, SAMPLES_PER_BATCH // k)
    per_sample = math.prod(model.input_shape)
    max_elements = max_elements or DEFAULT_MAX_ELEMENTS
    device = next(model.parameters()).device
    nll = torch.empty(n, dtype=torch.float64)
    gap = _KLCheck(k)
    with model.evaluating():
        for i in range(0, n, batch):
            x = model.preprocess(images[i:i + batch].to(device))
            code = model.bottleneck(model.encoder(x), sample=False)
            z = _draw(model.bottleneck, code, k, seed, first_index + i, device)
            log_w = _log_weights(model, x, code, z, per_sample, max_elements, gap)
            nll[i:i + len(x)] = (math.log(k) - torch.logsumexp(log_w.double(), dim=1)).cpu()
    gap.check(model.bottleneck)
    return nll


def image_seed(seed: int, index: int) -> int:
    """The seed of image `index`'s draws. torch's CPU generator keeps 32 bits
    of a seed, so (seed, index) is folded into them: distinct for every image
    under one seed, and two seeds' images apart by a multiple of 2**32/φ."""
    return (index + seed * 0x9E3779B1) % 2 ** 32


def _draw(bottleneck: StochasticBottleneck, code: Code, k: int, seed: int, first: int,
          device: torch.device) -> torch.Tensor:
    """k codes from each image's q(z|x), [B, k, D], image j's from its own seeded
    stream (fixed_rng: the caller's streams untouched)."""
    draws = []
    for j in range(len(code.mean)):
        one = Code(*(t[j:j + 1] if isinstance(t, torch.Tensor) else t for t in code))
        with fixed_rng(image_seed(seed, first + j), device):
            draws.append(bottleneck.sample_posterior(one, k))
    return torch.cat(draws)


def _log_weights(model: Autoencoder, x: torch.Tensor, code: Code, z: torch.Tensor, per_sample: int,
                 max_elements: int, gap: "_KLCheck") -> torch.Tensor:
    """log p(x|z_j) + log p(z_j) - log q(z_j|x), [B, k] (fp32), for the draws z [B, k, D]."""
    bottleneck, k = model.bottleneck, z.shape[1]
    log_q = bottleneck.log_posterior(code, z)                              # [B, k]
    gap.add(log_q - bottleneck.log_prior(z), bottleneck.kl(code))
    log_ratio = log_q - prior_term(model).log_prior(z, bottleneck)         # log q - log p, [B, k]
    log_w = torch.empty_like(log_ratio)
    # Blocks of whole images x all their samples, or of one image x part of its samples.
    samples = max(1, min(k, max_elements // per_sample))
    images_per_block = max(1, max_elements // (samples * per_sample)) if samples == k else 1
    for b in range(0, len(x), images_per_block):
        xb = x[b:b + images_per_block].unsqueeze(1)                        # [b, 1, C, H, W]
        for s in range(0, k, samples):
            zb = z[b:b + images_per_block, s:s + samples]                   # [b, s, D]
            out = model.decoder(zb.reshape(-1, zb.shape[-1]))
            out = out.view(*zb.shape[:2], *out.shape[1:])                  # [b, s, C, H, W]
            log_w[b:b + images_per_block, s:s + samples] = -model.likelihood.nll(xb, out)
    return log_w.sub_(log_ratio)


class _KLCheck:
    """Whether the bottleneck's densities agree with its own `kl`: the mean of
    log q(z|x) - log p(z) over the draws is an unbiased estimate of the KL. A
    bottleneck that changed its prior in `kl` alone (and inherited another
    `log_prior`) would give an NLL against the wrong p(z): refused instead.
    The gap is judged against its standard error (over all images and draws),
    so only a real disagreement trips it."""

    SIGMAS, NATS = 8.0, 0.01

    def __init__(self, k: int):
        self.k, self.images, self.gap, self.variance = k, 0, 0.0, 0.0

    def add(self, log_ratio: torch.Tensor, kl: torch.Tensor) -> None:
        if self.k < 2:   # one draw per image: no spread to judge a gap by
            return
        ratio = log_ratio.double()
        self.images += len(ratio)
        self.gap += float((ratio.mean(1) - kl.double()).sum())
        self.variance += float(ratio.var(1).sum()) / self.k

    def check(self, bottleneck: StochasticBottleneck) -> None:
        if not self.images:
            return
        mean_gap = self.gap / self.images
        if abs(self.gap) > self.SIGMAS * math.sqrt(self.variance) and abs(mean_gap) > self.NATS:
            raise AekitError(
                f"importance-sampled NLL: {type(bottleneck).__name__}'s kl disagrees with its log_posterior - "
                f"log_prior by {mean_gap:+.3f} nats per image (over {self.images} images x {self.k} draws): "
                "a bottleneck that changes its prior or posterior must state both densities to match its kl "
                "(aekit.nn.interfaces.StochasticBottleneck)"
            )
