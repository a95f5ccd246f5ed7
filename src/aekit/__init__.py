"""aekit: train, evaluate and use autoencoders on images.

    import aekit
    run = aekit.train("fashion-ae", data="digits-sample", epochs=2)
    model = aekit.load(run.dir)          # numpy in, numpy out: encode, decode, reconstruct, sample, ...
    figures = aekit.evaluate(run.dir)   # also written to run.dir/evaluation.json
    aekit.report(run.dir)               # run.dir/report.html (aekit.train writes it too)
    aekit.sweep("dense-ae-32", sets=["model.bottleneck.dim=2,5,10"], epochs=3)

The names below load on first use, so `import aekit.nn` (or the CLI's
`--help`) does not pay for matplotlib, the datasets or the trainer.
Importing aekit changes nothing in the process: CPU tuning is the explicit
`aekit.tune_cpu()` (before `import torch`; the `aekit` command calls it).
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "train": "aekit.api", "Run": "aekit.api",
    # A function, from aekit.evaluation (the metrics are aekit.metrics): no
    # submodule is named `evaluate`, so importing one never shadows it.
    "evaluate": "aekit.evaluation",
    "load_dataset": "aekit.data", "list_datasets": "aekit.data",
    "AekitError": "aekit.errors",
    "load_model": "aekit.io", "save_model": "aekit.io",
    "load": "aekit.apps.model",
    "Autoencoder": "aekit.models", "ModelConfig": "aekit.models",
    "list_presets": "aekit.models.presets",
    "tune_cpu": "aekit.cpu",
    "sweep": "aekit.sweeps",
    "explore": "aekit.serve",
    # A function, from aekit.reporting (no submodule is named `report`).
    "report": "aekit.reporting.run_page",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'aekit' has no attribute {name!r}")
