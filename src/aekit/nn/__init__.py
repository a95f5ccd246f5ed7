"""Parts that autoencoders are composed of: encoders, bottlenecks, decoders,
likelihoods, corruptions, regularisers. Nothing here knows about training."""

from aekit.nn.registry import BOTTLENECKS, CORRUPTIONS, DECODERS, ENCODERS, LIKELIHOODS, REGULARISERS

# Importing the modules registers their kinds of part.
from aekit.nn import bottlenecks, corruptions, likelihoods, mlp, regularisers  # noqa: E402,F401

__all__ = ["BOTTLENECKS", "CORRUPTIONS", "DECODERS", "ENCODERS", "LIKELIHOODS", "REGULARISERS"]
