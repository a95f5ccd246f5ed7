"""The full run config (data + model + train), and how it is resolved:

    preset  <  --config file  <  explicit options (--epochs ...)  <  --set key=value

then validated once. The resolved config is saved as `config.yaml` in the run
folder and rebuilds the run exactly.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from aekit.errors import ConfigError
from aekit.models.config import ModelConfig
from aekit.models.presets import get_preset
from aekit.schema import from_dict, to_dict


@dataclass
class DataConfig:
    name: str | None = None              # built-in name or a path; null: the preset's
    val_fraction: float = 0.1   # share of the training images held out for validation (seeded by train.seed); binarized-mnist keeps its own 10k split, folded into training at 0
    image_size: list[int] | int | None = None   # resize images to this (an int: square; [H, W]); null: as they are
    channels: int | None = None   # 1 (grey) or 3 (RGB); null: as the data has them
    # Classes (indices or names) left out of / kept alone in train and validation;
    # the test split stays whole (anomaly detection; aekit.data.classes).
    exclude_classes: list[int | str] | None = None
    only_classes: list[int | str] | None = None   # train on these classes alone (one-class setting)
    # An image folder or .npy: "always" decodes it once into memory-mapped files and
    # trains from them (memory bounded by the batch), "never" into memory, "auto" maps
    # it when it would take more than a quarter of the RAM (aekit.data.mapped, mapped_arrays).
    memmap: Literal["auto", "always", "never"] = "auto"

    def validate(self):
        if not 0 <= self.val_fraction <= 0.9:
            raise ConfigError("val_fraction: must be between 0 and 0.9")
        if self.channels not in (None, 1, 3):
            raise ConfigError("channels: must be 1 or 3")
        if self.exclude_classes and self.only_classes:
            raise ConfigError("exclude_classes and only_classes: give one of them, not both")


@dataclass
class TrainConfig:
    epochs: int = 10   # passes over the training images
    batch_size: int = 128   # training images per step
    eval_batch_size: int = 1024   # images per batch when validating and evaluating (no gradients)
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd"] = "adam"   # the optimiser (Adam, AdamW and SGD run torch's fused kernels)
    lr: float = 1e-3   # learning rate
    weight_decay: float = 0.0   # torch's weight_decay: an L2 penalty (adam, rmsprop, sgd), decoupled decay (adamw)
    momentum: float = 0.0                 # sgd and rmsprop
    # RMSprop's squared-gradient decay: torch's default 0.99; Keras's `rho` is 0.9,
    # and with 0.99 the first steps are far larger than a Keras model expects.
    rmsprop_alpha: float = 0.99
    seed: int = 0   # seeds the weights, the data order, the validation split and the noise
    device: str = "auto"                  # auto | cpu | cuda | cuda:N | mps
    threads: int | None = None            # CPU threads; null: torch's choice, capped at the usable CPUs
    compile: bool = False                 # torch.compile the loss (forward + backward); pays a compile first
    channels_last: bool | None = None     # conv memory layout; null: on for conv models on the CPU (measured faster)
    grid_every: int = 1                   # save images/epoch_NNN.png every N epochs (0: never)
    critic_lr: float | None = None        # adversarial critics' learning rate; null: lr
    early_stopping_patience: int | None = None   # stop after N epochs without a better val_loss
    schedule: Literal["none", "cosine", "step", "plateau"] = "none"   # LR schedule, stepped per epoch
    step_size: int = 10                   # step schedule: epochs between decays
    gamma: float = 0.1                    # step and plateau schedules: decay factor
    grad_clip: float | None = None        # clip the gradients' global norm to this
    checkpoint_every: int = 0             # also checkpoint every N steps (0: each epoch only)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"   # autocast dtype; fp16 needs CUDA
    tensorboard: bool = False             # TensorBoard event files in the run folder's tb/
    nan_check_every: int = 50             # look for a NaN/Inf loss every N steps (one host sync)
    # Flush denormal floats to zero on every CPU thread while training and
    # validating: Intel CPUs take a slow path on them (1.6x slower late epochs
    # measured; aekit/cpu.py). Changes rounding of values below 1.2e-38 only.
    flush_denormal: bool = True
    # Have glibc's malloc hand each freed block of 1 MiB or more back to the OS
    # (aekit.cpu.return_large_blocks), for the rest of the process: resident memory
    # then stays flat through a run (dense-ae-32 on 64x64 RGB: +30 MiB, not the +265-445
    # that glibc's heaps grow by over 1-6 epochs), at the price of zero-filling large blocks afresh each step (dense-ae-32
    # on 64x64 RGB in memory: 0.47x the images/s). null: when training from a memory map.
    bounded_malloc: bool | None = None

    def validate(self):
        for key in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"{key}: must be a positive integer")
        if not (math.isfinite(self.lr) and self.lr > 0):   # NaN and inf pass a plain `<= 0` test
            raise ConfigError(f"lr: the learning rate must be a positive finite number, got {self.lr}")
        if not self.weight_decay >= 0:
            raise ConfigError("weight_decay: must be non-negative")
        if not 0.0 < self.rmsprop_alpha < 1.0:
            raise ConfigError("rmsprop_alpha: must be between 0 and 1 (torch 0.99, Keras rho 0.9)")
        if self.checkpoint_every < 0 or self.nan_check_every <= 0:
            raise ConfigError("checkpoint_every must be >= 0 and nan_check_every > 0")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError("grad_clip: must be positive (or null for no clipping)")
        if self.early_stopping_patience is not None and self.early_stopping_patience <= 0:
            raise ConfigError("early_stopping_patience: must be a positive number of epochs")


@dataclass
class RunConfig:
    preset: str | None = None   # the preset the config started from (informational)
    description: str = ""   # free text, shown by `aekit info`
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return to_dict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


SECTIONS = ("data", "model", "train")


def resolve_config(preset: str | None = None, config_file: str | Path | dict | None = None,
                   overrides: dict[str, Any] | None = None, sets: list[str] | None = None) -> RunConfig:
    """Merge the layers into one validated RunConfig.

    `overrides` are dotted keys from explicit options ({"train.epochs": 2});
    `sets` are raw ``key=value`` strings from ``--set`` (values parsed as YAML)."""
    raw: dict[str, Any] = {}
    if preset:
        raw = get_preset(preset)
        raw["preset"] = preset
    if config_file is not None:
        file_raw = config_file if isinstance(config_file, dict) else load_yaml(config_file)
        if not preset and file_raw.get("preset"):
            raw = get_preset(file_raw["preset"])
        raw = deep_merge(raw, file_raw)
    if not raw:
        raise ConfigError("nothing to train: give --preset NAME or --config FILE (see `aekit presets`)")
    for key, value in (overrides or {}).items():
        if value is not None:
            set_dotted(raw, key, value)
    for item in sets or []:
        key, value = parse_set(item)
        set_dotted(raw, qualify(key, raw), value)
    return from_dict(RunConfig, raw)


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: check the path given to --config") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        if isinstance(err, yaml.constructor.ConstructorError):   # e.g. !!python/object: never built, by safe_load
            raise ConfigError(f"config file {path} has a YAML tag aekit does not load{line} ({err.problem}): "
                              "write plain values (numbers, strings, lists, mappings)") from None
        raise ConfigError(f"config file {path} is not valid YAML{line}: fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping with data/model/train sections: write it as "
                          "e.g. 'train: {epochs: 3}'")
    return data


def deep_merge(base: dict, top: dict) -> dict:
    """`top` wins; nested mappings merge, except a part whose `type` changes,
    which is replaced whole (an mlp's widths mean nothing to a conv)."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict) and value.get("type", old.get("type")) == old.get("type"):
            out[key] = deep_merge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_set(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set model.encoder.widths=[512,256]")
    key, text = item.split("=", 1)
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {item!r}: the value is not valid YAML; quote strings, write lists as [1,2]") from None
    return key.strip(), value


def qualify(key: str, raw: dict) -> str:
    """Allow `encoder.widths` for `model.encoder.widths` when it is unambiguous."""
    head = key.split(".", 1)[0]
    if head in SECTIONS or head in ("preset", "description"):
        return key
    owners = [s for s, cls in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig))
              if head in cls.__dataclass_fields__]
    if len(owners) == 1:
        return f"{owners[0]}.{key}"
    if not owners:
        raise ConfigError(f"--set {key}: unknown key; prefix it with a section: data., model. or train.")
    raise ConfigError(f"--set {key}: ambiguous; prefix it with one of {', '.join(s + '.' for s in owners)}")


def set_dotted(raw: dict, key: str, value: Any) -> None:
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str):          # `likelihood: bernoulli` shorthand
            child = {"type": child}
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {part!r} is not a section")
        node[part] = child
        node = child
    leaf = parts[-1]
    if isinstance(value, dict) and isinstance(node.get(leaf), dict) and "type" not in value:
        node[leaf] = deep_merge(node[leaf], value)
    else:
        node[leaf] = value
