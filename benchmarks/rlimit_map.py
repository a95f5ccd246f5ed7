"""Which memory maps count in RLIMIT_DATA (the limit aekit's bounded-memory
test sets: tests/test_memmap_bounded.py), on this kernel.

    python benchmarks/rlimit_map.py            # a 300 MiB .npy under a 200 MiB limit

A child process sets RLIMIT_DATA, then maps the file read-only and shared
(numpy mmap_mode "r", as aekit.data.memmap.map_npy does) and reads every
byte, maps it copy-on-write ("c": private and writable), and allocates as
much anonymous memory. Linux (>= 4.7) counts private writable and anonymous
mappings in RLIMIT_DATA, so only the first should succeed.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def attempt(what: str, action) -> None:
    try:
        action()
        print(f"  {what:34s} ok")
    except (MemoryError, OSError, ValueError) as e:
        print(f"  {what:34s} failed: {type(e).__name__}: {e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-mib", type=int, default=300)
    parser.add_argument("--limit-mib", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from machine import cpu_name

    print(f"{cpu_name()}, Linux {platform.release()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npy"
        np.save(path, np.ones((args.file_mib, 1 << 20), np.uint8))
        pid = os.fork()
        if pid == 0:   # the child: the limit stays out of the parent
            limit = args.limit_mib << 20
            resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.getrlimit(resource.RLIMIT_DATA)[1]))
            print(f"{args.file_mib} MiB file, RLIMIT_DATA {args.limit_mib} MiB:")
            attempt('mapped "r", every byte read', lambda: int(np.load(path, mmap_mode="r").sum(dtype=np.uint64)))
            attempt('mapped "c"', lambda: np.load(path, mmap_mode="c"))
            attempt(f"{args.file_mib} MiB anonymous (np.ones)", lambda: np.ones(args.file_mib << 20, np.uint8))
            sys.stdout.flush()
            os._exit(0)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
