"""Model files: `NAME.safetensors` (the weights) + `NAME.json` (the config and
everything else needed to rebuild the model). No pickle anywhere, so a model
file from a stranger cannot run code on load."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aekit import __version__
from aekit.errors import AekitError
from aekit.fs import atomic_write_text, atomic_write_with
from aekit.models.autoencoder import Autoencoder
from aekit.models.config import ModelConfig
from aekit.schema import from_dict, to_dict

FORMAT = "aekit.model"
VERSION = 1


def save_model(model: Autoencoder, folder: str | Path, name: str = "model", extra: dict | None = None) -> Path:
    """Write `folder/name.safetensors` and `folder/name.json`, each atomically.
    The weights go first: a JSON beside them always describes complete weights."""
    folder = Path(folder)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    atomic_write_with(folder / f"{name}.safetensors", lambda tmp: save_file(state, tmp, metadata={"format": FORMAT}))
    meta = {"format": FORMAT, "version": VERSION, "aekit_version": __version__,
            "config": to_dict(model.config), **(extra or {})}
    atomic_write_text(folder / f"{name}.json", json.dumps(meta, indent=2) + "\n")
    return folder / f"{name}.safetensors"


def read_model_meta(path: str | Path) -> tuple[dict, Path]:
    """The parsed JSON of a model and the path of its weights file."""
    weights, meta_path = _paths(Path(path))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AekitError(f"model description {meta_path} not found: a model is a .safetensors file with its .json beside it") from None
    except json.JSONDecodeError:
        raise AekitError(f"model description {meta_path} is not valid JSON: the file is damaged; re-save the model") from None
    if meta.get("format") != FORMAT:
        raise AekitError(f"{meta_path} is not an aekit model description (format {meta.get('format')!r})")
    return meta, weights


def load_model(path: str | Path, device: str | torch.device = "cpu") -> Autoencoder:
    """Rebuild a model from a run folder, a `.safetensors` file or its `.json`."""
    meta, weights = read_model_meta(path)
    model = Autoencoder(from_dict(ModelConfig, meta["config"], "model"))
    try:
        state = load_file(str(weights), device=str(device))
    except FileNotFoundError:
        raise AekitError(f"model weights {weights} not found: copy it together with its .json") from None
    except (SafetensorError, OSError) as err:
        raise AekitError(f"model weights {weights} are unreadable ({err}): the file is damaged; re-save the model") from None
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError:  # a tensor of the wrong shape
        missing, unexpected = ["(shapes differ)"], []
    if missing or unexpected:
        raise AekitError(
            f"model weights {weights} do not match {weights.with_suffix('.json').name} "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}): keep the two files of one model together"
        )
    model.eval()
    return model.to(device)


def _paths(path: Path) -> tuple[Path, Path]:
    if path.is_dir():
        path = path / "model.safetensors"
    if path.suffix == ".json":
        return path.with_suffix(".safetensors"), path
    if path.suffix != ".safetensors":
        raise AekitError(f"{path}: expected a run folder, a .safetensors model file or its .json")
    return path, path.with_suffix(".json")
