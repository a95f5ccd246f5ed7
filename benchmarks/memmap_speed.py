"""Training throughput from a memory-mapped cache against the same images in
memory (aekit.data.memmap): images/s of the training steps, rounds interleaved
and rotated so that other processes' load hits both alike.

    python benchmarks/memmap_speed.py                 # 4000 images 64x64 RGB, 3 rounds
    python benchmarks/memmap_speed.py --images 2000 --rounds 1

    python benchmarks/memmap_speed.py --modes memory memory-glibc --presets dense-ae-32

The data: digits-sample's digits resized to 64x64 with Pillow and tinted into
RGB (tests/rgb_folders.py), saved as one uint8 .npy [N, 3, 64, 64]. Each
measurement is a fresh child process (train.bounded_malloc pins glibc's mmap
threshold for the whole process: aekit.cpu.return_large_blocks), training
`--epochs` epochs with aekit's Trainer and read from the last (steady)
epoch's `samples_per_s`; peak RSS (VmHWM) is printed beside it. Modes:
`memory` (in memory, train.bounded_malloc on, so that it compares with the
map), `memmap` (on by default there) and `memory-glibc` (in memory, the
threshold left to glibc: in-memory training's default). The ratio of each mode to the first is taken round by round, then the median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(path: str, mode: str, preset: str, epochs: int) -> None:
    import numpy as np
    import torch

    from aekit.api import build_model
    from aekit.data.memmap import map_npy
    from aekit.data.types import Split
    from aekit.training.config import resolve_config
    from aekit.training.trainer import Trainer

    images = map_npy(Path(path)) if mode == "memmap" else torch.from_numpy(np.load(path))
    bounded = {"memory": True, "memory-glibc": False, "memmap": None}[mode]   # None: on, from the map
    cfg = resolve_config(preset, overrides={"train.epochs": epochs, "train.device": "cpu", "train.grid_every": 0,
                                            "train.bounded_malloc": bounded})
    torch.manual_seed(0)
    model = build_model(cfg, tuple(images.shape[1:]))
    history = Trainer(model, Split(images), Split(images[:0]), cfg.train).fit()
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    print(json.dumps({"images_per_s": history[-1]["samples_per_s"], "peak_rss_mib": int(hwm.split()[1]) // 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--presets", nargs="+", default=["dense-ae-32", "conv-ae"])
    parser.add_argument("--modes", nargs="+", default=["memory", "memmap"],
                        choices=["memory", "memmap", "memory-glibc"])
    parser.add_argument("--child", nargs=4, metavar=("PATH", "MODE", "PRESET", "EPOCHS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, mode, preset, epochs = args.child
        child(path, mode, preset, int(epochs))
        return

    import numpy as np

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent / "tests"))
    from machine import cpu_name
    from rgb_folders import tinted_digits

    print(f"{cpu_name()}, {time.strftime('%Y-%m-%d', time.gmtime())}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "images.npy"
        tiles = tinted_digits(min(args.images, 5000), 64)
        data = np.resize(tiles, (args.images, 64, 64, 3)).transpose(0, 3, 1, 2)
        np.save(path, np.ascontiguousarray(data))
        print(f"{args.images} images 3x64x64 ({data.nbytes / 2**20:.1f} MiB), {args.epochs} epochs, "
              f"{args.rounds} rounds; images/s of the last epoch's training steps")
        for preset in args.presets:
            first, others = args.modes[0], args.modes[1:]
            ratios, seen = {m: [] for m in others}, {m: [] for m in args.modes}
            for r in range(args.rounds):
                order = args.modes[r % len(args.modes):] + args.modes[:r % len(args.modes)]   # rotated
                got = {}
                for mode in order:
                    out = subprocess.run([sys.executable, __file__, "--child", str(path), mode, preset,
                                          str(args.epochs)], capture_output=True, text=True, check=True)
                    got[mode] = json.loads(out.stdout.strip().splitlines()[-1])
                    seen[mode].append(got[mode])
                for mode in others:
                    ratios[mode].append(got[mode]["images_per_s"] / got[first]["images_per_s"])
            for mode, runs in seen.items():
                speed = statistics.median(x["images_per_s"] for x in runs)
                rss = statistics.median(x["peak_rss_mib"] for x in runs)
                print(f"  {preset:12s} {mode:12s} {speed:8.0f} images/s   peak RSS {rss:5.0f} MiB")
            for mode, values in ratios.items():
                print(f"  {preset:12s} {mode} / {first}: {statistics.median(values):.2f} "
                      f"(rounds: {', '.join(f'{x:.2f}' for x in values)})")


if __name__ == "__main__":
    main()
