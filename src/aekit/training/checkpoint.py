"""Checkpoints: everything needed to continue a run bit for bit, without pickle.

    checkpoint/last.json                  the JSON half (structure, counters, RNG
                                          states of numpy/python, history) and the
                                          name of the tensors file it belongs to
    checkpoint/last-GGGGGG.safetensors    the tensors of generation G (model,
                                          optimisers, scheduler-free, torch RNG)

Why a generation in the tensors' file name: the tensors are written first,
then last.json (atomically) names them. A crash between the two leaves the
old JSON naming the old, still present, tensors file, so a JSON is never
paired with tensors of another generation. Older tensor files are removed
only after the new JSON is in place.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from aekit.errors import AekitError
from aekit.fs import atomic_write_text, atomic_write_with, make_folder
from aekit.training import distributed

FORMAT = "aekit.checkpoint"
VERSION = 1


def _flatten_optimizer(prefix: str, optimizer, tensors: dict) -> dict:
    """Optimizer state_dict -> tensors under `prefix` + a JSON structure."""
    sd = optimizer.state_dict()
    state_json = {}
    for idx, entry in sd["state"].items():
        state_json[str(idx)] = {}
        for key, value in entry.items():
            if torch.is_tensor(value):
                name = f"{prefix}.{idx}.{key}"
                tensors[name] = value.detach().to("cpu").contiguous()
                state_json[str(idx)][key] = {"tensor": name}
            else:
                state_json[str(idx)][key] = {"value": value}
    return {"state": state_json, "param_groups": sd["param_groups"]}


def _unflatten_optimizer(structure: dict, tensors: dict) -> dict:
    state = {}
    for idx, entry in structure["state"].items():
        state[int(idx)] = {
            key: (tensors[spec["tensor"]] if "tensor" in spec else spec["value"]) for key, spec in entry.items()
        }
    return {"state": state, "param_groups": structure["param_groups"]}


def _match_param_layout(optimizer) -> None:
    """Give each saved moment its parameter's memory layout (channels-last
    conv weights are saved contiguous). Fused kernels walk param, grad and
    moments as flat memory: mixed layouts would pair the wrong elements, silently."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def save_checkpoint(trainer, folder: str | Path) -> Path:
    folder = Path(folder)
    make_folder(folder)
    st = trainer.state
    generation = st.generation + 1
    tensors = {f"model.{k}": v.detach().to("cpu").contiguous() for k, v in trainer.model.state_dict().items()}
    meta = {
        "format": FORMAT, "version": VERSION, "generation": generation,
        "epoch": st.epoch, "step": st.step, "step_in_epoch": st.step_in_epoch,
        "history": st.history, "best_val_loss": st.best_val_loss, "bad_epochs": st.bad_epochs,
        "stopped_early": st.stopped_early,
        "cpu_linear": trainer.cpu_linear,
        "flush_denormal": trainer.flush_denormal,
        "bounded_malloc": trainer.bounded_malloc,
        "optimizer": _flatten_optimizer("optimizer", trainer.optimizer, tensors),
        "critic_optimizer": (_flatten_optimizer("critic_optimizer", trainer.critic_optimizer, tensors)
                             if trainer.critic_optimizer is not None else None),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
        "scaler": trainer.scaler.state_dict() if trainer.scaler is not None else None,
        "epoch_sums": sorted(trainer.tally.sums),
        "rng": {"numpy": _numpy_state(), "python": _python_state()},
    }
    tensors.update(trainer.tally.state())   # the sums and the steps not yet summed: tally.py
    tensors["rng.torch"] = torch.get_rng_state()
    # Under torchrun: each rank's own states, gathered by Trainer.save_checkpoint.
    tensors.update(trainer.rank_rng_states)
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    name = f"last-{generation:06d}.safetensors"
    atomic_write_with(folder / name, lambda tmp: save_file(tensors, tmp, metadata={"format": FORMAT}))
    meta["tensors"] = name
    atomic_write_text(folder / "last.json", json.dumps(meta) + "\n")
    st.generation = generation
    for old in folder.glob("last-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return folder / name


def load_checkpoint(trainer, folder: str | Path) -> None:
    """Restore `trainer` (already built from the run's config) to the checkpoint."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "last.json").read_text(encoding="utf-8"))
        tensors = load_file(str(folder / meta["tensors"]))
    except FileNotFoundError:
        raise AekitError(f"no checkpoint in {folder}: resume needs a run folder written by `aekit train`") from None
    except (json.JSONDecodeError, KeyError, SafetensorError, OSError) as err:
        raise AekitError(f"checkpoint in {folder} is damaged ({err}): start the run again") from None
    if meta.get("format") != FORMAT:
        raise AekitError(f"{folder / 'last.json'} is not an aekit checkpoint")
    device = trainer.device
    model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        trainer.model.load_state_dict(model_sd)
    except RuntimeError:   # missing, extra or mis-shaped tensors: another model's checkpoint
        raise AekitError(f"the checkpoint in {folder} is of another model than the run's config.yaml builds: "
                         "restore the run's own config.yaml, or start a new run") from None
    trainer.optimizer.load_state_dict(_unflatten_optimizer(meta["optimizer"], tensors))
    _match_param_layout(trainer.optimizer)
    if trainer.critic_optimizer is not None and meta["critic_optimizer"] is not None:
        trainer.critic_optimizer.load_state_dict(_unflatten_optimizer(meta["critic_optimizer"], tensors))
        _match_param_layout(trainer.critic_optimizer)
    if trainer.scheduler is not None and meta["scheduler"] is not None:
        trainer.scheduler.load_state_dict(meta["scheduler"])
    if trainer.scaler is not None and meta["scaler"] is not None:
        trainer.scaler.load_state_dict(meta["scaler"])
    st = trainer.state
    st.epoch, st.step, st.step_in_epoch = meta["epoch"], meta["step"], meta["step_in_epoch"]
    st.history, st.generation = meta["history"], meta["generation"]
    st.best_val_loss, st.bad_epochs = meta["best_val_loss"], meta["bad_epochs"]
    st.stopped_early = meta.get("stopped_early", False)
    trainer.cpu_linear = meta.get("cpu_linear", "torch")   # older checkpoints: all layers had torch's kernels
    trainer.flush_denormal = meta.get("flush_denormal", False)   # older checkpoints: never flushed
    trainer.tally.load_state(tensors, meta["epoch_sums"], device)
    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        n = sum(k.startswith("rng.cuda.") for k in tensors)
        states = [tensors[f"rng.cuda.{i}"] for i in range(n)]   # in device order (not "10" < "2")
        if states:
            torch.cuda.set_rng_state_all(states)
    distributed.restore_rng_state(tensors, device)   # under torchrun: this rank's own stream
    np.random.set_state(_numpy_from(meta["rng"]["numpy"]))
    random.setstate(_python_from(meta["rng"]["python"]))


def _numpy_state():
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _numpy_from(s):
    return (s[0], np.array(s[1], dtype=np.uint32), s[2], s[3], s[4])


def _python_state():
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _python_from(s):
    return (s[0], tuple(s[1]), s[2])
