"""One answer to "which weights does the user mean?": a run folder, a model
file pair, or a shipped pretrained model, resolved to its weights file.

    run folder        RUN/model.safetensors (or RUN/best.safetensors: weights="best")
    model file pair   x.safetensors or x.json (the other beside it)
    pretrained:NAME   the package's pretrained/NAME/model.safetensors (aekit/pretrained)

`aekit.load` (apps) and the evaluate job (evaluation/target.py) both call
`resolve_model`; io's own `read_model_meta` accepts a pretrained name through
`pretrained_weights`. Every problem is one AekitError line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aekit.errors import AekitError
from aekit.pretrained.registry import PREFIX, folder

WEIGHTS = ("model", "best")
CODES = "codes.safetensors"   # beside a pretrained model: codes of its training images


@dataclass(frozen=True)
class ModelSource:
    weights: Path               # the .safetensors file (its .json beside it)
    run_dir: Path | None        # the run folder, when the weights are in one (config.yaml beside them)
    pretrained: str | None = None   # the pretrained model's name

    @property
    def codes(self) -> Path | None:
        """The shipped training codes of a pretrained model, if any."""
        path = self.weights.parent / CODES
        return path if self.pretrained is not None and path.is_file() else None


def is_pretrained(source) -> bool:
    return isinstance(source, str) and source.startswith(PREFIX)


def pretrained_weights(source) -> Path | None:
    """The weights file of `pretrained:NAME`; None for anything else."""
    return folder(source[len(PREFIX):]) / "model.safetensors" if is_pretrained(source) else None


def resolve_model(source: str | os.PathLike, weights: str = "model") -> ModelSource:
    """The weights file `source` names; `weights` picks a run folder's final
    ("model") or best-validation ("best") weights."""
    if weights not in WEIGHTS:
        raise AekitError(f"weights {weights!r}: use 'model' (the final weights) or 'best' (the best validation epoch)")
    if is_pretrained(source):
        if weights != "model":
            raise AekitError(f"{source} ships one set of weights: drop --best / weights='best'")
        return ModelSource(pretrained_weights(source), None, source[len(PREFIX):])
    path = Path(source)
    if not path.exists():
        raise AekitError(f"{path} not found: the path does not exist; give a run folder (from `aekit train`), a .safetensors model file "
                         f"(or its .json) or pretrained:NAME (see `aekit pretrained`)")
    if not path.is_dir():
        if weights != "model":
            raise AekitError(f"--best / weights='best' picks best.safetensors in a run folder; {path} is a model "
                             f"file: give its run folder, or use the file as it is")
        file = path.with_suffix(".safetensors") if path.suffix == ".json" else path
        return ModelSource(file, file.parent if (file.parent / "config.yaml").is_file() else None)
    file = path / f"{weights}.safetensors"
    if file.is_file():
        return ModelSource(file, path)
    if not (path / "config.yaml").is_file():
        raise AekitError(f"{path} is not a run folder: it holds no {file.name}; give the folder of a run written by `aekit train`"
                         + (" (or a .safetensors model file)" if weights == "model" else ""))
    hint = ("the run has not finished an epoch yet: wait for one; or the folder was copied without it: copy it "
            "again" if weights == "model"
            else "the run had no validation split, or it has not finished an epoch: drop --best / "
                 "--weights best (evaluate) / weights='best' to use its model.safetensors")
    raise AekitError(f"{file} not found ({hint})")
