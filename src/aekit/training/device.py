"""Choosing the device: `auto` takes CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from aekit.errors import ConfigError
from aekit.cpu import usable_cpus


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda requested but no CUDA GPU is available: use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device mps requested but MPS is not available: use --device cpu or auto")
    return device


def usable_cpu_threads() -> int:
    """torch's default thread count, capped at the CPUs this process may run
    on: torch counts the machine's CPUs, while a container or `taskset` may
    allow fewer, and more threads than cores make every parallel op wait for
    a descheduled thread."""
    return max(1, min(torch.get_num_threads(), usable_cpus()))
