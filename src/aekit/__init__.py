"""aekit: train, evaluate and use autoencoders on images.

    import aekit
    run = aekit.train("fashion-ae", data="digits-sample", epochs=2)
    model = aekit.load_model(run.dir)

The names below load on first use, so `import aekit.nn` (or the CLI's
`--help`) does not pay for matplotlib, the datasets or the trainer.
"""

import os
import sys
from importlib import import_module

from aekit import openmp as _openmp

# Before torch loads its OpenMP runtime (read once, at load): idle OpenMP
# threads spin briefly on a quiet machine and sleep on a loaded one; either
# way is 1.6-2x faster than the other in its own case (see aekit/openmp.py).
# 'late' when torch came first: its runtime has read the environment already.
OPENMP_WAIT = ("late" if "torch" in sys.modules else
               _openmp.choose_wait_policy(os.environ, _openmp.usable_cpus(), _openmp.busy_elsewhere()))

__version__ = "0.1.0"

_EXPORTS = {
    "train": "aekit.api", "Run": "aekit.api",
    "load_dataset": "aekit.data", "list_datasets": "aekit.data",
    "AekitError": "aekit.errors",
    "load_model": "aekit.io", "save_model": "aekit.io",
    "Autoencoder": "aekit.models", "ModelConfig": "aekit.models",
    "list_presets": "aekit.models.presets",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")
