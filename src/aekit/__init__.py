"""aekit: train, evaluate and use autoencoders on images.

    import aekit
    run = aekit.train("fashion-ae", data="digits-sample", epochs=2)
    model = aekit.load_model(run.dir)

The names below load on first use, so `import aekit.nn` (or the CLI's
`--help`) does not pay for matplotlib, the datasets or the trainer.
"""

import os
from importlib import import_module

# Before torch loads its OpenMP runtime (read once, at load): idle OpenMP
# threads sleep instead of spinning. Spinning threads take the cores that the
# thread doing the work needs whenever other processes share the machine; on
# a busy 2-core CPU a plain MLP training loop ran 10-15x slower with the
# default policy (benchmarks/README.md). setdefault: a user's choice wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
