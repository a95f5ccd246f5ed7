"""Tuning for the CPU, applied only by explicit calls (importing aekit tunes
nothing): how many threads the process may use (`usable_cpus`, affinity mask
and cgroup quota), how torch's idle OpenMP threads wait (`tune_cpu`, before
torch loads), and flushing denormal floats on every thread
(`flushing_denormals`, around training and evaluation).

The `aekit` command calls `tune_cpu()` first thing; a Python user calls it
before importing torch (or not at all: everything works untuned).

## Wait policy

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

## Denormals
Floats below ~1.2e-38 (denormals: weights, gradients or Adam moments
decaying towards zero) take a slow microcode path on Intel CPUs: measured
on a Xeon (Sapphire Rapids), vae-kingma trained at 20-24k img/s in epochs
1-2 and 13-15k in epochs 3-5; with denormals flushed to zero, 24-25k in
every epoch. torch.set_flush_denormal sets the flag (MXCSR's FTZ and DAZ)
on the calling thread only, and torch's OpenMP workers keep their own, so
`set_flush_denormal_all_threads` sets it inside one OpenMP parallel region,
on every thread of the pool that torch's kernels then run on (threads
started later inherit it from the main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
import sys
import time
from pathlib import Path
from typing import Iterator, MutableMapping

# libgomp's unit is loop iterations, ~100k per millisecond: ~0.1 ms of spinning
# covers the gap between consecutive ops of a training step, and bounds the
# waste if the machine fills up later. (libgomp's own default is 300,000.)
SPIN_COUNT = "10000"
USER_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def cpuinfo_field(field: str, cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """The first value of `field` in /proc/cpuinfo ("model name", "vendor_id"), None where unknown."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_name() -> str:
    """The CPU's model name as lscpu gives it ("AMD EPYC ..."): for model cards and benchmark stamps."""
    import platform

    return cpuinfo_field("model name") or platform.processor() or "unknown CPU"


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


def tune_cpu(environ: MutableMapping[str, str] = os.environ) -> str:
    """Choose how torch's idle OpenMP threads wait (see the module's doc),
    by setting `environ` before torch loads. Returns the choice: 'spin',
    'passive', 'user' (the environment already says), or 'late' (torch is
    loaded: its runtime has read the environment already; nothing is set).
    The `aekit` command calls it at start; Python users may, before `import torch`."""
    if "torch" in sys.modules:
        return "late"
    return choose_wait_policy(environ, usable_cpus(), busy_elsewhere())


@functools.lru_cache(maxsize=None)
def _openmp_runtime() -> ctypes.CDLL | None:
    """The OpenMP runtime torch's kernels run on, or None where it has no
    GOMP entry point (not libgomp). Looked up through torch's own library,
    whose dependencies resolve the symbol: another OpenMP runtime loaded in
    the process (scikit-learn ships its own libgomp) has its own pool."""
    import torch

    try:
        lib = ctypes.CDLL(torch._C.__file__)
        parallel = lib.GOMP_parallel   # the entry point we need
    except (OSError, AttributeError):
        return None
    parallel.argtypes = [_PARALLEL_BODY, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    parallel.restype = None
    return lib


_PARALLEL_BODY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def set_flush_denormal_all_threads(on: bool) -> bool:
    """Flush denormals to zero (or stop) on this thread and every thread of
    torch's OpenMP pool (this thread's only where torch's runtime is not
    libgomp). False where the CPU cannot (then nothing changes)."""
    import torch

    if not torch.set_flush_denormal(on):
        return False
    runtime = _openmp_runtime()
    threads = torch.get_num_threads()
    if runtime is not None and threads > 1:
        body = _PARALLEL_BODY(lambda _: torch.set_flush_denormal(on))
        runtime.GOMP_parallel(body, None, threads, 0)
    return True


def flushing_denormal() -> bool:
    """Whether this thread flushes denormals now (a denormal product reads 0)."""
    import torch

    return bool(torch.tensor([1e-30]).mul_(1e-10).item() == 0.0)


@contextlib.contextmanager
def flushing_denormals(on: bool = True) -> Iterator[None]:
    """Within the block, denormals are flushed to zero on every thread (`on`)
    or kept on every thread (not `on`), whatever a caller set before (a
    run's numerics are what its checkpoint says); after it, every thread is
    back to the calling thread's previous setting."""
    before = flushing_denormal()
    set_flush_denormal_all_threads(on)
    try:
        yield
    finally:
        set_flush_denormal_all_threads(before)


# glibc's mallopt parameter (malloc.h) and the size above which blocks are
# mapped and unmapped on their own instead of served from malloc's heaps.
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 1 << 20


def return_large_blocks() -> bool:
    """Have glibc's malloc give every block of LARGE_BLOCK or more back to the
    OS when freed; False where the C library has no mallopt (nothing changes).

    Why: glibc raises its mmap threshold (from 128 KiB, up to 32 MiB) the first
    time a mapped block is freed, and from then on serves a training step's
    large temporaries (a 64x64 RGB batch of 128 is 6.3 MB of floats, and its
    activations and gradients as large) from its heaps; torch allocates them
    64-byte aligned (posix_memalign), and glibc before 2.38 splits such
    aligned blocks so that the freed ones are seldom reused whole, so the heaps
    grow step after step. Measured (2-core AMD EPYC, glibc 2.36, 2026-11-30,
    dense-ae-32 on 5,000 64x64 RGB images in memory, batch 128, one thread):
    peak resident memory rose 265-366 MiB over one epoch and 426 MiB over
    three with the threshold left to glibc, 421-432 MiB pinned at 16 or 32
    MiB, 46 MiB at 4 MiB and 30-31 MiB at 1 MiB. Left to glibc, the growth
    levels off (305-438 MiB after 1-2 epochs, 430-445 after 6): bounded by
    the step's working memory, not by the data.

    The price: each such block is mapped and zero-filled afresh every step
    (measured the same way, benchmarks/memmap_speed.py --modes memory
    memory-glibc: dense-ae-32 at its batch of 256 trained at 2,283 images/s
    pinned against 5,195 left to glibc, 0.47x). Setting the threshold turns
    glibc's adjustment off for the whole process (there is no way back), so it
    is called by the training call (Trainer.fit, per train.bounded_malloc: by
    default when training from a memory map), never on import."""
    try:
        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK))
    except (OSError, AttributeError):
        return False
