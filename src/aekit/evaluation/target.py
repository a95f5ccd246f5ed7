"""What is evaluated: a run folder, a model file, or a model in memory.

Which weights a source names is aekit/io/resolve.py's answer (shared with
`aekit.load`). A run folder is read through its config.yaml (its dataset, the split seed
and shape options it trained with) and one of its two weight files:
`model` (default: the final weights, what the user trained and what
`aekit.load_model(RUN)` returns) or `best` (the best validation epoch, when
asked). A model file, `pretrained:NAME` or an Autoencoder needs the data named by the caller.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from aekit.errors import AekitError
from aekit.io.model_file import load_model, read_model_meta
from aekit.io.resolve import WEIGHTS, resolve_model
from aekit.models.autoencoder import Autoencoder
from aekit.training.config import RunConfig, resolve_config


@dataclass
class Target:
    model: Autoencoder
    kind: str                      # "run", "file" or "instance"
    source: str                    # the run folder or the model file, as given ("" for an instance)
    weights: str                   # "model" or "best" for a run; the file's name; "instance"
    run_dir: Path | None = None    # where evaluation.json goes (runs only)
    config: RunConfig | None = None
    epoch: int | None = None       # the epoch the weights were saved at, when the model file says


def load_target(run_or_model, weights: str, device: torch.device) -> Target:
    if weights not in WEIGHTS:
        raise AekitError(f"weights {weights!r}: use 'model' (the final weights) or 'best' (the best validation epoch)")
    if isinstance(run_or_model, Autoencoder):
        if weights != "model":
            raise AekitError("weights='best' applies to a run folder; this is a model in memory: pass the run folder")
        return Target(run_or_model.to(device), "instance", "", "instance")
    if not isinstance(run_or_model, (str, os.PathLike)):
        raise AekitError(f"cannot evaluate a {type(run_or_model).__name__}: give a run folder, a model file "
                         f"(.safetensors or .json), pretrained:NAME, the Run that aekit.train returned "
                         f"or an aekit Autoencoder")
    source = os.fspath(run_or_model)   # a path, or the Run that aekit.train returned (its folder)
    found = resolve_model(source, weights)
    meta, file = read_model_meta(found.weights)
    model = load_model(file, device)
    if Path(source).is_dir() and (found.run_dir / "config.yaml").is_file():
        config = resolve_config(config_file=found.run_dir / "config.yaml")
        return Target(model, "run", source, weights, run_dir=found.run_dir, config=config,
                      epoch=meta.get("epoch"))
    # A model file, a pretrained model, or a folder holding only a model file pair: the data is named by the caller.
    return Target(model, "file", source, file.name, epoch=meta.get("epoch"))

