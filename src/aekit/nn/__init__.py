"""Parts that autoencoders are composed of: encoders, bottlenecks, decoders,
likelihoods, corruptions, regularisers, priors. Nothing here knows about training."""

from aekit.nn.registry import BOTTLENECKS, CORRUPTIONS, DECODERS, ENCODERS, LIKELIHOODS, PRIORS, REGULARISERS

# Importing the modules registers their kinds of part.
from aekit.nn import (  # noqa: E402,F401
    adversarial, bottlenecks, conv, corruptions, likelihoods, mlp, priors, regularisers,
)

__all__ = ["BOTTLENECKS", "CORRUPTIONS", "DECODERS", "ENCODERS", "LIKELIHOODS", "PRIORS", "REGULARISERS"]
