"""Model files: `NAME.safetensors` (the weights) + `NAME.json` (the config and
everything else needed to rebuild the model). No pickle anywhere, so a model
file from a stranger cannot run code on load: safetensors holds only tensors,
the JSON only data, and a pickle (torch.save's format) is recognised by its
first bytes and refused before anything reads it.

NAME.json (format version 2; docs/export.md lists the keys): "format"
("aekit.model"), "version", "aekit_version", "weights_sha256" (the content
hash of the weights: aekit/io/weights_hash.py), "input_shape" ([C, H, W]),
"data_range" ([low, high]: the float range the model's inputs and outputs
live in), "config" (the model config), and what the writer adds (a run
folder: "data", "epoch"). Version 1 files (no hash, shape and range only in
the config) still load; a newer version is refused with "upgrade aekit".

Every problem with a model file is one AekitError line naming the file, what
is wrong and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aekit import __version__
from aekit.errors import AekitError
from aekit.fs import atomic_write_text, atomic_write_with
from aekit.io.resolve import pretrained_weights
from aekit.io.weights_hash import state_hash
from aekit.models.autoencoder import Autoencoder
from aekit.models.config import ModelConfig
from aekit.schema import from_dict, to_dict

FORMAT = "aekit.model"
VERSION = 2            # written; every version from 1 up to this one is read
HASH_KEY = "weights_sha256"
_RESERVED = {"format", "version", "aekit_version", HASH_KEY, "input_shape", "data_range", "config"}
# File name endings of pickled models (torch.save, pickle, joblib, Lightning): named in the error.
_PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".joblib", ".tar"}


def save_model(model: Autoencoder, folder: str | Path, name: str = "model", extra: dict | None = None) -> Path:
    """Write `folder/name.safetensors` and `folder/name.json`, each atomically.
    The weights go first: a JSON beside them always describes complete weights."""
    clash = _RESERVED & set(extra or {})
    if clash:
        raise ValueError(f"save_model: extra keys {sorted(clash)} are the file format's own")
    folder = Path(folder)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    atomic_write_with(folder / f"{name}.safetensors", lambda tmp: save_file(state, tmp, metadata={"format": FORMAT}))
    meta = {"format": FORMAT, "version": VERSION, "aekit_version": __version__, HASH_KEY: state_hash(state),
            "input_shape": list(model.input_shape), "data_range": list(model.data_range),
            "config": to_dict(model.config), **(extra or {})}
    atomic_write_text(folder / f"{name}.json", json.dumps(meta, indent=2) + "\n")
    return folder / f"{name}.safetensors"


def read_model_meta(path: str | Path) -> tuple[dict, Path]:
    """The parsed, checked JSON of a model and the path of its weights file.
    `meta["weights_sha256"]` is the weights' content hash (absent in format
    version 1 files: `model_hash(load_model(path))` computes it for those).
    `path` may also be `pretrained:NAME` (aekit/io/resolve.py)."""
    weights, meta_path = _paths(pretrained_weights(path) or Path(path))
    _refuse_pickle(weights)   # before anything else: a renamed torch.save file gets its own answer
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AekitError(f"model description {meta_path} not found: a model is a .safetensors file with its .json "
                         "beside it; copy the two together") from None
    except ValueError:   # not JSON, or not even text
        _refuse_pickle(meta_path)
        raise AekitError(f"model description {meta_path} is not valid JSON: the file is damaged; re-save the model "
                         "or copy it again") from None
    except OSError as err:
        raise AekitError(f"model description {meta_path} cannot be read ({err.strerror or err}): "
                         "check the path and its permissions") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise AekitError(f"{meta_path} is not an aekit model description (format {found!r}, expected {FORMAT!r}): "
                         "give the model.json written beside an aekit model's .safetensors")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise AekitError(f"{meta_path} has no valid format version ({version!r}): the file is damaged or was "
                         "edited; re-save the model")
    if version > VERSION:
        raise AekitError(f"{meta_path} is model format version {version}, written by aekit "
                         f"{meta.get('aekit_version', '?')}; this aekit ({__version__}) reads versions up to "
                         f"{VERSION}: upgrade aekit (pip install -U aekit)")
    if not isinstance(meta.get("config"), dict):
        raise AekitError(f"{meta_path} holds no model config: the file is damaged or was edited; re-save the model")
    if version >= 2 and not (isinstance(meta.get(HASH_KEY), str) and len(meta[HASH_KEY]) == 64):
        raise AekitError(f"{meta_path} holds no valid {HASH_KEY} (required from format version 2): the file is "
                         "damaged or was edited; re-save the model")
    return meta, weights


def load_model(path: str | Path, device: str | torch.device = "cpu") -> Autoencoder:
    """Rebuild a model from a run folder, a `.safetensors` file or its `.json` (or `pretrained:NAME`),
    checking the weights against the description (names, shapes, content hash)."""
    meta, weights = read_model_meta(path)
    meta_path = weights.with_suffix(".json")
    try:
        model = Autoencoder(from_dict(ModelConfig, meta["config"], "model"))
    except (AekitError, ValueError, TypeError, RuntimeError, AttributeError, KeyError, IndexError,
            OverflowError) as err:
        # A config read from a file that fails to build is the file's fault (edited, damaged), not a bug here.
        detail = err if isinstance(err, AekitError) else f"{type(err).__name__}: {err}"
        raise AekitError(f"{meta_path} describes a model this aekit cannot build ({detail}): it was edited or "
                         "written by another aekit version; re-save the model") from None
    for key, built in (("input_shape", list(model.input_shape)), ("data_range", list(model.data_range))):
        if key in meta and meta[key] != built:   # a reader may trust these without building the model
            raise AekitError(f"{meta_path} says {key} {meta[key]!r} but its config builds {built!r}: the file was "
                             "edited or damaged; re-save the model")
    state = _read_weights(weights)
    problem = _mismatch({k: v.shape for k, v in model.state_dict().items()}, state)
    if problem:
        raise AekitError(f"model weights {weights} do not match {meta_path.name} ({problem}): the two files are of "
                         "different models (another architecture or size); keep the two files of one model together")
    if HASH_KEY in meta:
        actual = state_hash(state)
        if actual != meta[HASH_KEY]:
            raise AekitError(f"model weights {weights} do not match the content hash in {meta_path.name} "
                             f"(sha256 {actual[:12]}..., recorded {meta[HASH_KEY][:12]}...): the weights were changed "
                             "or damaged after saving; copy the model again or re-save it")
    model.load_state_dict(state)
    model.eval()
    return model.to(device)


def _read_weights(weights: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file on the CPU; a pickle is refused unread."""
    _refuse_pickle(weights)
    try:
        return load_file(str(weights), device="cpu")
    except FileNotFoundError:
        raise AekitError(f"model weights {weights} not found: copy it together with its .json") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise AekitError(f"model weights {weights} are unreadable ({err}): the file is damaged or is not a "
                         "safetensors file; copy the model again or re-save it") from None


def _mismatch(expected: Mapping[str, torch.Size], state: Mapping[str, torch.Tensor]) -> str | None:
    """The tensors that are missing, extra or of another shape, named; None when all match."""
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shaped = [f"{k} is {list(state[k].shape)}, the model's {list(expected[k])}"
              for k in sorted(set(expected) & set(state)) if state[k].shape != expected[k]]
    parts = [f"{what} {_some(names)}" for what, names in
             (("missing tensors", missing), ("extra tensors", extra), ("mis-shaped tensors:", shaped)) if names]
    return "; ".join(parts) or None


def _some(names: list[str], n: int = 4) -> str:
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def pickle_kind(path: Path) -> str | None:
    """What kind of pickled file `path` is, judged by its first bytes (never
    unpickled): a zip archive (torch.save since torch 1.6), a pickle of
    protocol 2-5 (older torch.save, pickle.dump, joblib); None otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive, as torch.save writes"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return f"a pickle (protocol {head[1]})"
    return None


def _refuse_pickle(path: Path) -> None:
    kind = pickle_kind(path)
    if kind:
        raise AekitError(f"{path} is a pickle/torch.save file ({kind}): aekit loads only safetensors model files "
                         "with their .json, since unpickling can run code; give a run folder from `aekit train` or a "
                         "model.safetensors + model.json pair")


def _paths(path: Path) -> tuple[Path, Path]:
    if path.is_dir():
        if not (path / "model.safetensors").exists() and not (path / "model.json").exists():
            raise AekitError(f"{path} holds no model (model.safetensors + model.json): give the folder of a run "
                             "from `aekit train`, or a .safetensors model file")
        path = path / "model.safetensors"
    if path.suffix == ".json":
        return path.with_suffix(".safetensors"), path
    if path.suffix != ".safetensors":
        if not path.exists():
            raise AekitError(f"{path} not found: give a run folder, a .safetensors model file or its .json")
        _refuse_pickle(path)
        hint = " (a pickled model?)" if path.suffix.lower() in _PICKLE_SUFFIXES else ""
        raise AekitError(f"{path}{hint}: expected a run folder, a .safetensors model file or its .json")
    return path, path.with_suffix(".json")
