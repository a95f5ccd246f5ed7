"""What is evaluated: a run folder, a model file, or a model in memory.

A run folder is read through its config.yaml (its dataset, the split seed
and shape options it trained with) and one of its two weight files:
`model` (default: the final weights, what the user trained and what
`aekit.load_model(RUN)` returns) or `best` (the best validation epoch, when
asked). A model file or an Autoencoder needs the data named by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from aekit.errors import AekitError
from aekit.io.model_file import load_model, read_model_meta
from aekit.models.autoencoder import Autoencoder
from aekit.training.config import RunConfig, resolve_config

WEIGHTS = ("model", "best")


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
    if not isinstance(run_or_model, (str, Path)):
        raise AekitError(f"cannot evaluate a {type(run_or_model).__name__}: give a run folder, a model file "
                         f"(.safetensors or .json) or an aekit Autoencoder")
    path = Path(run_or_model)
    if not path.exists():
        raise AekitError(f"{path} does not exist: give a run folder (from `aekit train`) or a model file")
    if path.is_dir():
        return _load_run(path, weights, device)
    if weights != "model":
        raise AekitError(f"--weights {weights} applies to a run folder; {path} is a model file: give its run folder")
    meta, _ = read_model_meta(path)
    return Target(load_model(path, device), "file", str(path), path.name, epoch=meta.get("epoch"))


def _load_run(path: Path, weights: str, device: torch.device) -> Target:
    if not (path / "config.yaml").is_file():
        raise AekitError(f"{path} is not a run folder (no config.yaml): give the folder written by `aekit train`, "
                         f"or a model file with --data")
    file = path / f"{weights}.safetensors"
    if not file.is_file():
        hint = ("the run has not finished an epoch yet, or the folder was copied without it" if weights == "model"
                else "the run had no validation split, or it has not finished an epoch: use --weights model")
        raise AekitError(f"{file} not found ({hint})")
    config = resolve_config(config_file=path / "config.yaml")
    meta, _ = read_model_meta(file)
    return Target(load_model(file, device), "run", str(path), weights, run_dir=path, config=config,
                  epoch=meta.get("epoch"))
