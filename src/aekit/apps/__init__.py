"""The jobs users run on a trained model: reconstruct, encode and decode,
denoise, sample, interpolate, latent maps, manifolds, anomaly scores, info.

`aekit.load(path)` gives a `Model` (aekit/apps/model.py) whose methods are
the jobs' Python calls; each job's pictures and files are written by one
module here (reconstruct.py, denoise.py, ...), which the CLI calls. This
layer uses models, metrics and io; nothing below it imports it.
"""

from importlib import import_module

_EXPORTS = {"Model": "aekit.apps.model", "load": "aekit.apps.model"}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aekit.apps' has no attribute {name!r}")
