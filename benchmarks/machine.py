"""The machine a figure was measured on, named the same way by every benchmark."""

from __future__ import annotations

import os

from aekit.cpu import cpu_name as model_name


def cpu_name() -> str:
    """The CPU's model name and the CPUs this process may use, e.g. "AMD EPYC, 2 CPUs usable"."""
    return f"{model_name()}, {len(os.sched_getaffinity(0))} CPUs usable"
