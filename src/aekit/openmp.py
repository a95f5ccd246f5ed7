"""torch's CPU threads: how many the process may use (`usable_cpus`), and how
idle ones wait, chosen once before torch loads its OpenMP runtime.

Between two parallel ops (a matmul, then a sigmoid), torch's OpenMP worker
threads wait for the next one. Measured on a 2-core CPU with the MLP VAE at
batch 128 (benchmarks/README.md):

- on a quiet machine, threads that spin briefly before sleeping train at
  ~32-40k img/s; threads that sleep at once (OMP_WAIT_POLICY=PASSIVE) at
  ~19k, no better than one thread: every op pays for waking the other one.
- with other processes holding a core (one or two busy loops beside it),
  spinning drops to ~10-11k and sleeping keeps ~17-18k: a spinning thread
  holds the core that the thread with the work needs.

So: spin briefly when the cores are free as the process starts, sleep when
other processes already want them. The choice is read by the OpenMP runtime
once, when torch loads, so it must happen before `import torch`; a user's
own OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import MutableMapping

# libgomp's unit is loop iterations, ~100k per millisecond: ~0.1 ms of spinning
# covers the gap between consecutive ops of a training step, and bounds the
# waste if the machine fills up later. (libgomp's own default is 300,000.)
SPIN_COUNT = "10000"
USER_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask (`taskset`, cpusets),
    capped by a cgroup CPU quota (`docker --cpus 2`, Kubernetes limits), which
    the mask does not show: torch would start one thread per host CPU and
    have them wait for each other's time slices."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:   # macOS and Windows have no affinity masks
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    return max(1, min(cpus, math.ceil(quota))) if quota else cpus


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs' worth of time per period that this process's cgroup may use
    (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`);
    None when unlimited or unknown."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def busy_elsewhere(samples: int = 9) -> float:
    """Threads of other processes running or waiting for a CPU right now.

    Linux: the run queue's length from /proc/loadavg (4th field, this process
    included), sampled over ~10 ms; its median, less this process. An average
    over the last minute would count a run that just finished, and send the
    next one to sleeping waits for nothing. Elsewhere: the 1-minute load."""
    try:
        counts = []
        for i in range(samples):
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]))
            if i + 1 < samples:
                time.sleep(0.001)
        return max(0.0, sorted(counts)[samples // 2] - 1.0)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def choose_wait_policy(environ: MutableMapping[str, str], cpus: int, busy: float) -> str:
    """Set how OpenMP threads wait in `environ`; returns which one, for logs and tests.

    'user' when the environment already says; 'spin' when no other process
    wants a CPU (`busy` < 1: torch starts one thread per CPU, so a single busy
    thread elsewhere already shares a core with one of them; measured with
    one busy loop beside the 2-core run: spinning 9.5k img/s, sleeping 17.8k);
    'passive' otherwise, and always with a single CPU, where a spinning
    thread can only get in the way."""
    if any(name in environ for name in USER_SETTINGS):
        return "user"
    if cpus > 1 and busy < 1:
        environ["GOMP_SPINCOUNT"] = SPIN_COUNT
        return "spin"
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "passive"
