"""Pretrained models shipped inside the package, loaded offline as
`aekit.load("pretrained:NAME")` (or `pretrained:NAME` wherever a job takes a
run folder or model file).

Each model is a folder here, NAME/: model.safetensors + model.json (the
model file pair, as `aekit train` writes it), codes.safetensors (the codes
of training images evenly spread through its training split, so the jobs
that need training codes, a plain AE's sampling Gaussian and the manifold
grid, work without the dataset) and card.json (its recipe, test figures and
hashes). `registry.py` finds them; `recipes.py` says how each was trained;
`build.py` (`aekit pretrained build NAME`) retrains one from its recipe.
"""

from aekit.pretrained.registry import PREFIX, card, folder, names

__all__ = ["PREFIX", "card", "folder", "names"]
