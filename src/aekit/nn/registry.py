"""One registry per kind of part. A module defining a part registers its config
class here with `@ENCODERS.register("mlp")`; configs then name it by tag."""

from aekit.schema import TaggedRegistry

ENCODERS = TaggedRegistry("encoder")
DECODERS = TaggedRegistry("decoder")
BOTTLENECKS = TaggedRegistry("bottleneck")
LIKELIHOODS = TaggedRegistry("likelihood")
CORRUPTIONS = TaggedRegistry("corruption")
REGULARISERS = TaggedRegistry("regulariser")
PRIORS = TaggedRegistry("prior")
