"""How idle OpenMP threads wait, chosen once before torch loads its runtime.

Between two parallel ops (a matmul, then a sigmoid), torch's OpenMP worker
threads wait for the next one. Measured on a 2-core CPU with the MLP VAE at
batch 128 (benchmarks/README.md):

- on a quiet machine, threads that spin briefly before sleeping train at
  ~32-40k img/s; threads that sleep at once (OMP_WAIT_POLICY=PASSIVE) at
  ~19k, no better than one thread: every op pays for waking the other one.
- with other processes holding the cores (two busy loops beside it), spinning
  drops to ~11k and sleeping keeps ~17k: a spinning thread holds the core
  that the thread with the work needs.

So: spin briefly when the cores are free as the process starts, sleep when
other processes already load them. The choice is read by the OpenMP runtime
once, when torch loads, so it must happen before `import torch`; a user's
own OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins.
"""

from __future__ import annotations

import os
from typing import MutableMapping

# libgomp's unit is loop iterations, ~100k per millisecond: ~0.1 ms of spinning
# covers the gap between consecutive ops of a training step, and bounds the
# waste if the machine fills up later. (libgomp's own default is 300,000.)
SPIN_COUNT = "10000"
USER_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def usable_cpus() -> int:
    """CPUs this process may run on (a container or `taskset` may allow fewer
    than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # macOS and Windows have no affinity masks
        return os.cpu_count() or 1


def machine_load() -> float:
    """Runnable tasks, averaged over the last minute (0 where unknown)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def choose_wait_policy(environ: MutableMapping[str, str], cpus: int, load: float) -> str:
    """Set how OpenMP threads wait in `environ`; returns which one, for logs and tests.

    'user' when the environment already says, 'spin' when at least one core's
    worth of the CPUs is idle beyond the one this process is starting on,
    'passive' otherwise (and always with a single CPU, where a spinning thread
    can only get in the way)."""
    if any(name in environ for name in USER_SETTINGS):
        return "user"
    if cpus > 1 and load <= cpus - 1:
        environ["GOMP_SPINCOUNT"] = SPIN_COUNT
        return "spin"
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "passive"
