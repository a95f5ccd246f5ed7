"""One registry per kind of part. A module defining a part registers its config
class here with `@ENCODERS.register("mlp")`; configs then name it by tag. A
registered config must derive from its kind's config interface (interfaces.py)."""

from aekit.nn.interfaces import (
    BottleneckConfig, CorruptionConfig, DecoderConfig, EncoderConfig, LikelihoodConfig, PriorConfig,
    RegulariserConfig,
)
from aekit.schema import TaggedRegistry

ENCODERS = TaggedRegistry("encoder", EncoderConfig)
DECODERS = TaggedRegistry("decoder", DecoderConfig)
BOTTLENECKS = TaggedRegistry("bottleneck", BottleneckConfig)
LIKELIHOODS = TaggedRegistry("likelihood", LikelihoodConfig)
CORRUPTIONS = TaggedRegistry("corruption", CorruptionConfig)
REGULARISERS = TaggedRegistry("regulariser", RegulariserConfig)
PRIORS = TaggedRegistry("prior", PriorConfig)
