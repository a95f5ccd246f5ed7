"""The machine a figure was measured on, named the same way by every benchmark."""

from __future__ import annotations

import os
import platform
import subprocess


def cpu_name() -> str:
    """lscpu's model name and the CPUs this process may use, e.g. "AMD EPYC, 2 CPUs usable"."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        name = platform.processor() or "unknown CPU"
    return f"{name}, {len(os.sched_getaffinity(0))} CPUs usable"
